import {kindOf} from './perf_profile.js';

const user = (symbol: string, dso = 'node') => ({symbol, dso, kernel: false});

describe('kindOf', () => {
  it('names the package or service of a JIT-compiled JavaScript frame', () => {
    expect(
      kindOf(
        user(
          'JS:*query /work/main/node_modules/pg/lib/client.js:668:8',
          '[JIT] tid 1',
        ),
      ),
    ).toBe('JS pg');
    expect(
      kindOf(
        user(
          'JS:*createCall /work/main/node_modules/@grpc/grpc-js/build/src/transport.js:405:15',
        ),
      ),
    ).toBe('JS @grpc/grpc-js');
    expect(
      kindOf(
        user(
          'JS:*run file:///work/main/dist/services/order/src/app/place_order.js:92:14',
        ),
      ),
    ).toBe('JS agora services/order');
    expect(kindOf(user('JS:*emit node:events:471:44'))).toBe(
      'JS node internals',
    );
  });

  it("tells V8's collector, compiler and builtins apart", () => {
    expect(
      kindOf(
        user(
          'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>',
        ),
      ),
    ).toBe('V8 garbage collector');
    expect(
      kindOf(user('v8::internal::compiler::GraphReducer::ReduceTop')),
    ).toBe('V8 JIT compiler');
    expect(kindOf(user('Builtins_LoadIC_Megamorphic'))).toBe(
      'V8 builtins (property access, calls, promises)',
    );
    expect(kindOf(user('_int_malloc', 'libc.so.6'))).toBe(
      'libc (malloc, memcpy)',
    );
    expect(
      kindOf({symbol: 'tcp_sendmsg', dso: '[kernel.kallsyms]', kernel: true}),
    ).toBe('kernel (system calls, network, scheduling)');
  });
});
