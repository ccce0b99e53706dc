import {databaseEnvFor} from './service_process.js';

describe('databaseEnvFor()', () => {
  it("gives a service its own role and migrations the owner's, on the caller's database", () => {
    expect(
      databaseEnvFor('order', {
        AGORA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/agora_test_x',
      }),
    ).toEqual({
      AGORA_DATABASE_URL: 'postgres://agora_order@127.0.0.1:5432/agora_test_x',
      AGORA_MIGRATION_DATABASE_URL:
        'postgres://agora_owner@127.0.0.1:5432/agora_test_x',
    });
  });

  it('uses the default database when none is set, and drops any password', () => {
    expect(databaseEnvFor('report', {})).toEqual({
      AGORA_DATABASE_URL: 'postgres://agora_report@127.0.0.1:5432/agora',
      AGORA_MIGRATION_DATABASE_URL:
        'postgres://agora_owner@127.0.0.1:5432/agora',
    });
    expect(
      databaseEnvFor('payment', {
        AGORA_DATABASE_URL:
          'postgres://postgres:pw@db:5432/agora?sslmode=disable',
      }).AGORA_DATABASE_URL,
    ).toBe('postgres://agora_payment@db:5432/agora?sslmode=disable');
  });

  it('leaves the roles alone when the caller set a migration URL', () => {
    expect(
      databaseEnvFor('pricing', {
        AGORA_DATABASE_URL: 'postgres://someone@db/agora',
        AGORA_MIGRATION_DATABASE_URL: 'postgres://owner@db/agora',
      }),
    ).toEqual({});
  });

  it('gives nothing to a program that is not a service', () => {
    expect(databaseEnvFor('echo', {})).toEqual({});
  });
});
