import { hugePages } from '../env.js';

/**
 * The environment a trial process starts with: glibc (2.35 and later) is asked to back its
 * large allocations with transparent huge pages (`glibc.malloc.hugetlb=1`, which needs THP
 * in `madvise` or `always` mode). A trial's first big allocation is its data set (55 MB for
 * full MNIST), and on a VM whose fresh memory is dear to touch (a balloon handing freed pages
 * back to the host; ~15 µs per 4 KiB page measured here) reading it costs ~0.25 s in page
 * faults with 4 KiB pages against ~30 ms with 2 MiB ones. Training numbers do not change.
 * Other C libraries and older glibc ignore the variable. A user's own GLIBC_TUNABLES are
 * kept (their hugetlb setting wins); BSTUNE_HUGE_PAGES=0 leaves the environment as it is.
 */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!hugePages(env)) return env;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:glibc.malloc.hugetlb=1` : 'glibc.malloc.hugetlb=1' };
}
