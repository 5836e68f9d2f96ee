/**
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseDotenv(text: string): Record<string, string>;
/**
 * Copies `vars` into `target` without overriding keys already present. Returns the keys it set.
 * @param {Record<string, string | undefined>} target
 * @param {Record<string, string>} vars
 * @returns {string[]}
 */
export function applyEnv(target: Record<string, string | undefined>, vars: Record<string, string>): string[];
/**
 * Loads `path` into `target` if the file exists. Returns the keys it set (empty when no file).
 * @param {string} path
 * @param {Record<string, string | undefined>} target
 */
export function loadDotenvFile(path: string, target: Record<string, string | undefined>): string[];
