import {SERVICE_PORTS} from '../config/service_config.js';
import {
  OWNER_ROLE,
  SERVICE_SCHEMAS,
  serviceRole,
  serviceRolesSql,
} from './service_roles.js';

describe('service_roles.sql', () => {
  const sql = serviceRolesSql();

  it('pairs each service role with the schema SERVICE_SCHEMAS gives the service', () => {
    const pairs = [...sql.matchAll(/\('(\w+)', '(agora_\w+)'\)/g)].map(
      ([, schema, role]) => `${role} ${schema}`,
    );
    expect(pairs.sort()).toEqual(
      Object.keys(SERVICE_PORTS)
        .map(s => {
          const service = s as keyof typeof SERVICE_PORTS;
          return `${serviceRole(service)} ${SERVICE_SCHEMAS[service]}`;
        })
        .sort(),
    );
  });

  it('creates the owner and every service role', () => {
    const created = /ARRAY\[([^\]]+)\]/.exec(sql)?.[1] ?? '';
    const roles = [...created.matchAll(/'(\w+)'/g)].map(m => m[1]);
    expect(roles.sort()).toEqual(
      [
        OWNER_ROLE,
        ...Object.keys(SERVICE_PORTS).map(s =>
          serviceRole(s as keyof typeof SERVICE_PORTS),
        ),
      ].sort(),
    );
  });

  it("lists Order's schema as ordering", () => {
    expect(SERVICE_SCHEMAS.order).toBe('ordering');
    expect(serviceRole('order')).toBe('agora_order');
  });
});
