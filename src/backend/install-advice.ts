import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where this copy of bstune lives, which decides the npm command that makes a backend
 * importable from it: Node looks for a package in node_modules folders from bstune's
 * own (real) folder upward, so the backend must land in one of those.
 * - clone: a git checkout; its package.json declares the backends as optional peer
 *   dependencies, and npm 10/11 answer `npm i <backend>` there with "up to date" (the
 *   name is already a peer, so npm keeps it one, and optional peers are not installed).
 *   `--save-optional` moves it to optionalDependencies, which npm does install.
 * - project: node_modules/bstune inside someone's project: a plain `npm i` there.
 * - global: <prefix>/lib/node_modules/bstune: `npm i -g`, which lands beside it.
 * - npx: a throwaway npx cache folder: name both packages to npx.
 */
export type InstallSetting = 'clone' | 'project' | 'global' | 'npx';

export function installSetting(packageRoot: string, o: { globalRoots: string[]; exists: (path: string) => boolean }): InstallSetting {
  const parent = dirname(packageRoot);
  if (basename(parent) !== 'node_modules') return 'clone';
  if (packageRoot.split(sep).includes('_npx')) return 'npx';
  if (o.globalRoots.includes(parent)) return 'global';
  // <prefix>/lib/node_modules (Unix) with no project around it: a global folder whatever the prefix.
  const above = dirname(parent);
  if (basename(above) === 'lib' && !o.exists(join(above, 'package.json'))) return 'global';
  return 'project';
}

/** The one-line command that installs `specs` (like "@tensorflow/tfjs-node@^4.22.0") in that setting. */
export function installAdvice(specs: string[], setting: InstallSetting, packageRoot: string): string {
  const list = specs.join(' ');
  switch (setting) {
    case 'clone':
      // A plain `npm i PKG` reports "up to date" here: the name is an optional peer of this package.json.
      return `cd ${packageRoot} && npm i --save-optional ${list}   # a plain npm i leaves an optional peer dependency uninstalled`;
    case 'project':
      return `npm i ${list}   # in the project that depends on bstune`;
    case 'global':
      return `npm i -g ${list}   # beside the global bstune`;
    case 'npx':
      return `npx ${specs.map((x) => `-p ${x}`).join(' ')} -p bstune bstune …   # npx installs only the packages it is given`;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
/** bstune's package folder, symlinks resolved (Node resolves imports from the real path). */
export const packageRoot = (() => {
  const root = resolve(here, '..', '..');
  try {
    return realpathSync(root);
  } catch {
    return root;
  }
})();

/** The global node_modules folders npm would use with this Node: <prefix>/lib/node_modules, and $npm_config_prefix's. */
export function globalRoots(env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): string[] {
  const prefixes = [dirname(dirname(execPath)), ...(env.npm_config_prefix ? [env.npm_config_prefix] : []), ...(env.PREFIX ? [env.PREFIX] : [])];
  return prefixes.flatMap((p) => [join(p, 'lib', 'node_modules'), join(p, 'node_modules')]);
}

/** `pkg@range` with the range bstune's package.json asks of that peer dependency, e.g. "@tensorflow/tfjs-node@^4.22.0". */
export function peerSpec(pkg: string, root = packageRoot): string {
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
    const range = manifest.peerDependencies?.[pkg];
    return range ? `${pkg}@${range}` : pkg;
  } catch {
    return pkg;
  }
}

/** How to install these packages for this copy of bstune, as one line. */
export function installCommand(...pkgs: string[]): string {
  const setting = installSetting(packageRoot, { globalRoots: globalRoots(), exists: existsSync });
  return installAdvice(pkgs.map((p) => peerSpec(p)), setting, packageRoot);
}
