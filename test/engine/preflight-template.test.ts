/**
 * workflows/room-mapping.json's `!preflight` branch through n8n's engine: its nodes exactly as the
 * template has them (Mappings to check → Preflight → Reply: preflight) behind a real Matrix Command
 * Trigger. The template's Switch (a built-in n8n node this harness does not load) is left out: the
 * trigger here listens to `preflight` only, which is what the Switch routes to this branch.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { closeAllLedgers } from '../../lib/store';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, startTrigger, wf, type TriggerHandle } from '../harness/engine';

const template = JSON.parse(
	readFileSync(path.join(__dirname, '../../workflows/room-mapping.json'), 'utf8'),
) as { nodes: Array<{ name: string; type: string; parameters: IDataObject; executeOnce?: boolean; alwaysOutputData?: boolean }> };
const fromTemplate = (name: string) => {
	const node = template.nodes.find((n) => n.name === name)!;
	return {
		name,
		type: node.type.replace(/^n8n-nodes-pretix-matrix\./, ''),
		parameters: node.parameters as never,
		credentials: Object.keys((node as { credentials?: object }).credentials ?? {}),
	};
};
/** The template's node settings (Execute Once, Always Output Data), which the harness's specs lack. */
const withTemplateSettings = (workflow: ReturnType<typeof wf>) => {
	for (const node of workflow.nodes) {
		const original = template.nodes.find((n) => n.name === node.name);
		if (original?.executeOnce) node.executeOnce = true;
		if (original?.alwaysOutputData) node.alwaysOutputData = true;
	}
	return workflow;
};

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

// The tests' ledger files live in the temporary folder, allowed as an operator would allow it.
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

describe('room-mapping template: !preflight', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let dir: string;
	let creds: Record<string, ICredentialDataDecryptedObject>;
	const handles: TriggerHandle[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		dir = mkdtempSync(path.join(tmpdir(), 'preflight-template-'));
		creds = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
			dedupeStoreApi: { backend: 'embedded', filePath: path.join(dir, 'ledger.sqlite'), hmacSecret: 'm_w6qQILCMZEz1g5yN-yQgINChuGIX78' },
		};
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		await closeAllLedgers();
		await hs.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const map = async (event: string, room: string) => {
		const run = await runWorkflow({
			workflow: wf([{ name: 'Map', type: 'dedupeStore', parameters: { resource: 'roomMapping', operation: 'set', event, room } as never, credentials: ['dedupeStoreApi'] }]),
			credentials: creds,
		});
		expect(run.status).toBe('success');
	};

	const start = async (trigger: IDataObject = {}) => {
		const commands = fromTemplate('Commands');
		const t = await startTrigger({
			workflow: withTemplateSettings(
				wf([
					{ ...commands, parameters: { ...(commands.parameters as IDataObject), commands: 'preflight', ...trigger } as never },
					fromTemplate('Mappings to check'),
					fromTemplate('Preflight'),
					fromTemplate('Reply: preflight'),
				]),
			),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
		return t;
	};
	const replies = (roomId: string) =>
		hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId).map((e) => e.content);

	test('a moderator: one notice answering the command, one line for this room (its mappings only), nothing else sent', async () => {
		const here = hs.createRoom({ creator: mod.userId, alias: '#summit:localhost', members: [bot.userId] });
		// The moderator gave the bot no power: inviting works (invite 0), withdrawing does not (kick 50).
		const other = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		await map('acme/summit26', here);
		await map('acme/other26', other);
		const t = await start();
		const command = hs.say(mod.userId, here, '!preflight');
		await until(() => t.runs.length === 1 && replies(here).length === 1);
		expect(t.runs[0].status).toBe('success');
		const [reply] = replies(here);
		expect(reply).toMatchObject({
			msgtype: 'm.notice',
			body: "Preflight of 1 mapped room (✅ ready, ⚠️ needs attention):\n⚠️ #summit:localhost — the bot's power level 0 is below kick (50): it cannot withdraw canceled tickets; invite-only; room version 10",
			'm.relates_to': { 'm.in_reply_to': { event_id: command } },
		});
		// The other event's room is none of this moderator's business, and nothing went there.
		expect(replies(other)).toEqual([]);
		// Into rooms, only the reply was written: no invite, kick or state change (the listener's own filter upload aside).
		expect(hs.requests().filter((r) => r.method !== 'GET' && /\/rooms\//.test(r.path)).map((r) => r.path)).toEqual([
			expect.stringMatching(/\/send\/m\.room\.message\//),
		]);
	});

	test('a bot admin: every mapped room; a room without mappings gets the !setroom hint', async () => {
		const here = hs.createRoom({ creator: bot.userId, alias: '#orga:localhost', members: [mod.userId] });
		const t = await start({ permissionMode: 'allowlist', allowlist: mod.userId });
		hs.say(mod.userId, here, '!preflight');
		await until(() => replies(here).length === 1);
		expect(replies(here)[0].body).toBe('No event is mapped to any room yet: map one with !setroom <pretix event URL>.');
		const attendees = hs.createRoom({ creator: bot.userId, alias: '#attendees:localhost', roomVersion: '11' });
		const gone = hs.createRoom({ creator: mod.userId });
		await map('acme/summit26', attendees);
		await map('acme/summit26', gone);
		hs.say(mod.userId, here, '!preflight');
		await until(() => replies(here).length === 2);
		const [heading, ...lines] = String(replies(here)[1].body).split('\n');
		expect(heading).toBe('Preflight of 2 mapped rooms (✅ ready, ⚠️ needs attention):');
		// The ledger lists mappings in its own order.
		expect(lines.sort()).toEqual([
			'✅ #attendees:localhost — can invite and kick; invite-only; room version 11',
			`⚠️ ${gone} — the bot is not in this room: invite the bot and let it join`,
		].sort());
		expect(t.runs.every((run) => run.status === 'success')).toBe(true);
	});
});
