export type Tenant = { id: string };
