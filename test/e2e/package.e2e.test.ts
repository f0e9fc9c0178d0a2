/**
 * The package in a real n8n 2.x: installed as n8n installs community packages, every node and
 * credential listed under the package's name with its icon, nothing under `CUSTOM.`.
 */
import { expectedTypes, N8nInstance } from '../harness/n8n';

describe('package in real n8n', () => {
	let n8n: N8nInstance;

	beforeAll(async () => {
		n8n = await N8nInstance.start({ label: 'package' });
	});

	afterAll(async () => {
		await n8n?.destroy();
	});

	test('n8n lists every node and credential under the package name', async () => {
		// start() already fails on missing or CUSTOM types; check the details the node panel shows.
		const nodes = (await n8n.rest('GET', '/types/nodes.json')) as Array<{ name: string; displayName: string; iconUrl?: string | { light: string; dark: string }; codex?: { categories?: string[] } }>;
		const expected = expectedTypes().nodes;
		// n8n adds an AI-tool variant `<name>Tool` of every node that declares usableAsTool.
		const ours = nodes.filter((n) => n.name.startsWith('n8n-nodes-pretix-matrix.') && !n.name.endsWith('Tool'));
		expect(ours.map((n) => n.name).sort()).toEqual([...expected].sort());
		const tools = nodes.filter((n) => n.name.startsWith('n8n-nodes-pretix-matrix.') && n.name.endsWith('Tool')).map((n) => n.name.replace(/Tool$/, ''));
		expect(tools.sort()).toEqual(expected.filter((name) => !name.endsWith('Trigger')).sort());
		expect(nodes.some((n) => n.name.startsWith('CUSTOM.'))).toBe(false);
		for (const node of ours) {
			expect(node.iconUrl).toBeDefined();
			const icons = typeof node.iconUrl === 'string' ? [node.iconUrl] : [node.iconUrl!.light, node.iconUrl!.dark];
			for (const icon of icons) {
				const res = await fetch(`${n8n.baseUrl}/${icon}`);
				expect({ icon, status: res.status }).toEqual({ icon, status: 200 });
				expect(await res.text()).toContain('<svg');
			}
		}
		const credentials = (await n8n.rest('GET', '/types/credentials.json')) as Array<{ name: string }>;
		for (const name of expectedTypes().credentials) expect(credentials.map((c) => c.name)).toContain(name);
	});

	test('the n8n log shows the package loaded from the community-package folder', () => {
		const log = n8n.logs();
		const { nodes, credentials } = expectedTypes();
		// n8n's PackageDirectoryLoader (community packages), not the CUSTOM directory loader.
		const loaded = log.split('\n').find((line) => line.includes('Loaded all credentials and nodes from n8n-nodes-pretix-matrix'));
		expect(loaded).toBeDefined();
		expect(loaded).toContain(`"credentials": ${credentials.length}, "nodes": ${nodes.length}`);
		expect(loaded).toContain('package-directory-loader');
		expect(log).not.toMatch(/CUSTOM\.(pretix|matrix|mxid|dedupe)/i);
		expect(log).not.toMatch(/Class could not be found/);
	});
});
