/**
 * Whether the CUDA 11.x and cuDNN 8.x libraries tfjs-node-gpu 4.22 loads (libtensorflow 2.9,
 * built against CUDA 11.2 / cuDNN 8.1) can be found by the dynamic loader. Pure: the caller
 * passes the loader's cache (`ldconfig -p`), LD_LIBRARY_PATH and a file-exists function.
 */
import { join } from 'node:path';

export interface CudaLibrary {
  /** What it is, e.g. "CUDA runtime". */
  what: string;
  soname: string;
  group: 'cuda' | 'cudnn';
  /** Where the loader finds it (LD_LIBRARY_PATH or the ldconfig cache), else null. */
  path: string | null;
  /** Present in a standard directory the loader does not search (needs LD_LIBRARY_PATH). */
  offPath: string | null;
}

/** The sonames libtensorflow 2.9's GPU build dlopens. */
export const CUDA_LIBRARIES: readonly { what: string; soname: string; group: 'cuda' | 'cudnn' }[] = [
  { what: 'CUDA runtime', soname: 'libcudart.so.11.0', group: 'cuda' },
  { what: 'cuBLAS', soname: 'libcublas.so.11', group: 'cuda' },
  { what: 'cuBLASLt', soname: 'libcublasLt.so.11', group: 'cuda' },
  { what: 'cuFFT', soname: 'libcufft.so.10', group: 'cuda' },
  { what: 'cuRAND', soname: 'libcurand.so.10', group: 'cuda' },
  { what: 'cuSOLVER', soname: 'libcusolver.so.11', group: 'cuda' },
  { what: 'cuSPARSE', soname: 'libcusparse.so.11', group: 'cuda' },
  { what: 'cuDNN', soname: 'libcudnn.so.8', group: 'cudnn' },
];

/** Where CUDA installs put its libraries when they are not in the loader's cache. */
export const STANDARD_CUDA_DIRS = ['/usr/local/cuda/lib64', '/usr/local/cuda-11.2/lib64', '/usr/local/cuda-11/lib64', '/opt/cuda/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib64'];

/** `ldconfig -p` lines look like "\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8". */
export function parseLdconfig(out: string, arch: string = process.arch): Map<string, string> {
  // 64-bit entries are tagged "(libc6,x86-64)" or "(libc6,AArch64)"; a bare "(libc6)" is 32-bit there.
  const tag = arch === 'x64' ? /x86-64/ : arch === 'arm64' ? /AArch64/i : /./;
  const cache = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
    if (m && !cache.has(m[1]!) && tag.test(m[2]!)) cache.set(m[1]!, m[3]!);
  }
  return cache;
}

export function findCudaLibraries(o: { ldconfig: string; ldLibraryPath: string | undefined; standardDirs: readonly string[]; exists: (path: string) => boolean }): CudaLibrary[] {
  const cache = parseLdconfig(o.ldconfig);
  const envDirs = (o.ldLibraryPath ?? '').split(':').filter((d) => d !== '');
  return CUDA_LIBRARIES.map((lib) => {
    const inEnv = envDirs.map((d) => join(d, lib.soname)).find(o.exists);
    const path = inEnv ?? cache.get(lib.soname) ?? null;
    const offPath = path === null ? (o.standardDirs.map((d) => join(d, lib.soname)).find(o.exists) ?? null) : null;
    return { ...lib, path, offPath };
  });
}

/** The commands that make the missing libraries loadable; empty when all are found. */
export function cudaFixes(libs: CudaLibrary[]): string[] {
  const fixes: string[] = [];
  const offDirs = [...new Set(libs.flatMap((l) => (l.offPath ? [l.offPath.slice(0, l.offPath.lastIndexOf('/'))] : [])))];
  if (offDirs.length > 0) fixes.push(`export LD_LIBRARY_PATH=${offDirs.join(':')}:$LD_LIBRARY_PATH   # the libraries are there, but the loader does not search that folder`);
  const missing = (g: 'cuda' | 'cudnn') => libs.some((l) => l.group === g && l.path === null && l.offPath === null);
  if (missing('cuda')) {
    fixes.push('sudo apt-get install cuda-libraries-11-2   # CUDA 11.2 runtime libraries, from NVIDIA\'s CUDA apt repository for your distribution; then: export LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64:$LD_LIBRARY_PATH');
  }
  if (missing('cudnn')) {
    fixes.push('sudo apt-get install libcudnn8=8.1.1.33-1+cuda11.2   # cuDNN 8.1 for CUDA 11.2, from the same repository');
  }
  return fixes;
}
