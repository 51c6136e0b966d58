/**
 * The largest seed (training.seed, --seed). The validation split and the epoch shuffles draw
 * from mulberry32 (split.ts), which takes its seed as a 32-bit unsigned integer: seed 2^32
 * would split and shuffle exactly as seed 0. Nothing else is tighter: tfjs seeds its
 * initializers with seedrandom's alea over the seed's digits (any number), and the results
 * file and the resume key (batch, seed) hold seeds exactly up to 2^53. numpy's seeds stop here too.
 */
export const MAX_SEED = 2 ** 32 - 1;
