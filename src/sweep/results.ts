/** Moved to src/results/ (find-max keeps the same file); kept so older imports still compile. */
export { appendResult, defaultResultsPath, ensureWritable, readResults } from '../results/file.js';
export { configDiff, configHash, hashedConfig, type StoredTrial } from '../results/record.js';
