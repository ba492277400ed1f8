select `markets`.`region` as `region` from (select * from `markets` where `tenant_id` = {p0:String}) as `markets` group by `region` order by `region` asc limit {p1:UInt64}
-- parameters: {"p0":"aurora","p1":1000}
