/** Kept apart from the zod schema so `--help` does not load zod. */
export const backendNames = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];
