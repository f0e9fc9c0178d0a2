/**
 * `npm run build` = tsc + this: the same output as n8n's `n8n-node build` (@n8n/node-cli), which
 * copies every PNG and SVG in the tree, and __schema__ JSON, outside dist/ and node_modules/ to the
 * same path under dist/. tsc itself emits the codex files (*.node.json, included by tsconfig.json).
 * Dot-folders are not matched by either (so the pinned n8n in .n8n-runtime/ stays out), and
 * `scripts/compare-build.sh` checks the two builds are identical.
 */
const { src, dest } = require('gulp');

function copyStaticFiles() {
	return src(['**/*.{png,svg}', '**/__schema__/**/*.json'], {
		ignore: ['dist/**', 'node_modules/**'],
		encoding: false,
	}).pipe(dest('dist'));
}

exports['build:icons'] = copyStaticFiles;
