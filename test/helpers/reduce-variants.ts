// The names of the native reduction's builds (native/src/reduce.cc's table, fastest first), as
// the addon reports them: one list for every test that checks a name.
export const REDUCE_VARIANT_NAMES = ['avx512bf16+f16c', 'avx512+f16c', 'avx512', 'avx2+f16c', 'avx2', 'baseline'] as const;

/** True when `name` is one of REDUCE_VARIANT_NAMES. */
export function isReduceVariant(name: string): boolean {
  return (REDUCE_VARIANT_NAMES as readonly string[]).includes(name);
}
