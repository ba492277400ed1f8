/** Who is asking: the tenant scopes every query; it never comes from a tool argument. */
export interface Identity {
  readonly tenant: string;
  readonly roles: readonly string[];
  readonly subject: string;
  /** OAuth scopes granted; each tool declares the one it needs. */
  readonly scopes: readonly string[];
}

/** The identity of a local session (stdio, or a loopback HTTP server without auth). */
export function localIdentity(tenant: string, roles: readonly string[], scopes: readonly string[]): Identity {
  return { tenant, roles, subject: `local:${tenant}`, scopes };
}
