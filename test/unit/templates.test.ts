/**
 * The workflows/ templates, checked statically against the package they ship with: node types and
 * versions that exist, parameters the nodes know, credentials that `npm start` and the e2e suite
 * create, connections between existing nodes, webhook ids, and sticky notes that cover no node.
 * (They run for real in test/e2e/templates.e2e.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { templateCredentials } from '../../scripts/template-credentials';

const ROOT = path.resolve(__dirname, '../..');
const PACKAGE = 'n8n-nodes-pretix-matrix';

interface TemplateNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
	onError?: string;
}

interface Template {
	id: string;
	name: string;
	nodes: TemplateNode[];
	connections: Record<string, { main: Array<Array<{ node: string; type: string; index: number }>> }>;
	settings: Record<string, unknown>;
}

const files = readdirSync(path.join(ROOT, 'workflows')).filter((f) => f.endsWith('.json'));
const templates: Array<[string, Template]> = files.map((f) => [f, JSON.parse(readFileSync(path.join(ROOT, 'workflows', f), 'utf8')) as Template]);

/** Our node descriptions, from the sources the package is built from. */
function descriptions(): Map<string, INodeTypeDescription> {
	const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { n8n: { nodes: string[] } };
	const out = new Map<string, INodeTypeDescription>();
	for (const file of manifest.n8n.nodes) {
		const source = path.join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const className = path.basename(source, '.node.ts');
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const NodeClass = require(source)[className] as new () => INodeType;
		const description = new NodeClass().description;
		out.set(`${PACKAGE}.${description.name}`, description);
	}
	return out;
}

const ours = descriptions();

describe.each(templates)('template %s', (_file, template) => {
	test('is a complete n8n workflow with a stable id and v1 execution order', () => {
		expect(template.id).toMatch(/^[A-Za-z0-9]{8,}$/);
		expect(template.name).toBeTruthy();
		expect(template.settings.executionOrder).toBe('v1');
		expect(new Set(template.nodes.map((n) => n.name)).size).toBe(template.nodes.length);
		expect(new Set(template.nodes.map((n) => n.id)).size).toBe(template.nodes.length);
	});

	test('keeps no item data of successful runs in n8n (attendees\' IDs); errors are kept until the purge', () => {
		expect(template.settings).toMatchObject({ saveDataSuccessExecution: 'none', saveDataErrorExecution: 'all', saveManualExecutions: false });
	});

	test('carries the tag the purge and !forget find the package\'s workflows by', () => {
		// A fixed id: n8n's CLI import of several workflows creating one new tag fails on the tag's unique name otherwise.
		expect((template as unknown as { tags: Array<{ id: string; name: string }> }).tags).toEqual([{ id: 'PretixMatrixTag1', name: 'pretix-matrix' }]);
	});

	test('uses only node types of this package (by package name) or n8n built-ins', () => {
		for (const node of template.nodes) {
			expect(node.type).not.toMatch(/^CUSTOM\./);
			if (node.type.startsWith(`${PACKAGE}.`)) {
				const description = ours.get(node.type);
				expect({ node: node.name, known: !!description }).toEqual({ node: node.name, known: true });
				const versions = ([] as number[]).concat(description!.version);
				expect(versions).toContain(node.typeVersion);
			} else {
				expect(node.type).toMatch(/^n8n-nodes-base\./);
			}
		}
	});

	test('sets only parameters the nodes define', () => {
		for (const node of template.nodes.filter((n) => ours.has(n.type))) {
			const known = new Set(ours.get(node.type)!.properties.map((p: INodeProperties) => p.name));
			const unknown = Object.keys(node.parameters).filter((name) => !known.has(name));
			expect({ node: node.name, unknown }).toEqual({ node: node.name, unknown: [] });
		}
	});

	test('refers to the credentials npm start and the e2e suite create', () => {
		const available = templateCredentials();
		for (const node of template.nodes) {
			for (const [type, ref] of Object.entries(node.credentials ?? {})) {
				expect(available).toContainEqual(expect.objectContaining({ id: ref.id, name: ref.name, type }));
				if (!ours.has(node.type)) continue;
				const allowed = ours.get(node.type)!.credentials!.map((c) => c.name);
				expect(allowed).toContain(type);
			}
		}
	});

	test('connects existing nodes only, and every non-note node is reachable', () => {
		const names = new Set(template.nodes.map((n) => n.name));
		const targets = new Set<string>();
		for (const [source, { main }] of Object.entries(template.connections)) {
			expect(names.has(source)).toBe(true);
			for (const output of main) for (const link of output) {
				expect(names.has(link.node)).toBe(true);
				targets.add(link.node);
			}
		}
		const unreachable = template.nodes.filter((n) => !n.type.endsWith('.stickyNote') && !n.type.toLowerCase().includes('trigger') && !targets.has(n.name)).map((n) => n.name);
		expect(unreachable).toEqual([]);
	});

	test('webhook triggers carry a fixed webhookId (the CLI import does not create one)', () => {
		for (const node of template.nodes.filter((n) => ours.get(n.type)?.webhooks?.length)) {
			expect(node.webhookId).toMatch(/^[0-9a-f-]{36}$/);
		}
	});

	test("$('X').first()/.all() name a node with several outputs only where one output leads to them (n8n picks the output by the graph, not by the run)", () => {
		const multi = new Set(
			template.nodes
				.filter((n) => /\.(if|switch|splitInBatches|filter)$/.test(n.type) || (n.type.endsWith('.dedupeStore') && ['claim', 'plan'].includes(String(n.parameters.operation))) || (n.type.endsWith('.mxidValidate') && n.parameters.invalidOutput !== 'same') || n.onError === 'continueErrorOutput')
				.map((n) => n.name),
		);
		/** The nodes reachable from one output of a node. */
		const reachable = (from: string, output: number): Set<string> => {
			const seen = new Set<string>();
			const queue = (template.connections[from]?.main[output] ?? []).map((link) => link.node);
			while (queue.length) {
				const node = queue.shift()!;
				if (seen.has(node)) continue;
				seen.add(node);
				for (const links of template.connections[node]?.main ?? []) for (const link of links) queue.push(link.node);
			}
			return seen;
		};
		const ambiguous: string[] = [];
		for (const node of template.nodes) {
			const text = JSON.stringify(node.parameters);
			for (const match of text.matchAll(/\$\('([^']+)'\)\.(first|last|all)\(\)/g)) {
				const target = match[1];
				if (!multi.has(target)) continue;
				const outputs = (template.connections[target]?.main ?? []).map((_links, output) => output).filter((output) => reachable(target, output).has(node.name));
				if (outputs.length > 1) ambiguous.push(`${node.name} → $('${target}').${match[2]}() (reached from outputs ${outputs.join(', ')})`);
			}
		}
		expect(ambiguous).toEqual([]);
	});

	test('sticky notes cover no node', () => {
		const notes = template.nodes.filter((n) => n.type.endsWith('.stickyNote'));
		for (const note of notes) {
			const [x, y] = note.position;
			const width = Number(note.parameters.width ?? 240);
			const height = Number(note.parameters.height ?? 160);
			for (const node of template.nodes.filter((n) => !n.type.endsWith('.stickyNote'))) {
				const [nx, ny] = node.position;
				// A node is drawn about 100 × 100 from its position, its label below.
				const overlaps = nx + 100 > x && nx < x + width && ny + 130 > y && ny < y + height;
				expect({ note: note.name, node: node.name, overlaps }).toEqual({ note: note.name, node: node.name, overlaps: false });
			}
		}
	});
});
