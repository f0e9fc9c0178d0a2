/**
 * A big event on a homeserver that limits like Synapse (issue 14): `!batchinvite` for more people
 * than the old 600 s time budget could invite at Synapse's default pace answers with an ETA, works
 * through the tickets in chunks, posts progress, and finishes by itself with a summary — everybody
 * invited exactly once, in a real n8n with the shipped batch template.
 *
 * The fake homeserver keeps Synapse's default limits (rc_message 0.2/s, invites 0.3/s) on a clock
 * that runs 40× faster, so 150 invites (≈ 12 minutes at Synapse's pace) take about 20 s here; the
 * template's Invite nodes learn that pace from the server ("Learn From 429 Answers").
 */
import path from 'node:path';

import { Ledger, SqliteBackend } from '../../lib/store';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { delay, N8nInstance, type WorkflowImport } from '../harness/n8n';
import { botMessages, command, loadTemplates } from './support';

const TIME_SCALE = 40;
/** Tickets of the fixture event (19 positions) and those that grant access with a usable Matrix ID (11). */
const FIXTURE_POSITIONS = 19;
const FIXTURE_GRANTS = 11;

describe('a batch bigger than one time budget (real n8n, Synapse-like limits)', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let ledger: Ledger;

	beforeAll(async () => {
		services = await startDemoServices({ homeserverTimeScale: TIME_SCALE });
		const templates = loadTemplates(services, { only: ['pretixMatrixBatchInvite', 'pretixMatrixRoomMapping'] }).map((workflow: WorkflowImport) => {
			for (const node of workflow.nodes as Array<{ name: string; parameters: Record<string, unknown> }>) {
				if (node.name === 'Invite' || node.name === 'Withdraw') node.parameters.options = { ...(node.parameters.options as object), limits: 'learn' };
			}
			return workflow;
		});
		n8n = await N8nInstance.start({ label: 'big-batch', credentials: templateCredentials(services), workflows: templates });
		const backend = new SqliteBackend({ path: path.join(n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite') });
		await backend.init();
		ledger = new Ledger(backend, { secret: DEMO_LEDGER_SECRET });
		await delay(3000);
	}, 300_000);

	afterAll(async () => {
		await n8n?.destroy();
		await services?.stop();
	});

	test('ETA first, progress while it runs, a summary at the end; every ticket invited once', async () => {
		const room = services.attendeesRoom;
		expect(await command(services, n8n, room, `!setroom ${services.pretixUrl}/exampleorg/summit26/`)).toHaveLength(1);
		const generated = services.pretix.generateOrders({ count: 140, seed: 77 });
		const invitees = [...new Set(generated.attendees.filter((a) => a.kind === 'valid' && a.active).map((a) => String(a.answer)))];
		expect(invitees.length).toBeGreaterThan(120);
		const before = botMessages(services, room).length;
		services.homeserver.say(services.organizer.userId, room, '!batchinvite');
		const deadline = Date.now() + 600_000;
		while (!botMessages(services, room).slice(before).some((m) => m.startsWith('Batch invite finished')) && Date.now() < deadline) await delay(1000);
		const replies = botMessages(services, room).slice(before);
		expect(replies[0]).toMatch(/^Inviting \d+ people .*: about \d+ minutes at the homeserver's pace/);
		// At Synapse's pace the batch is longer than the old 600 s budget.
		expect(Number(/about (\d+) minutes/.exec(replies[0])![1])).toBeGreaterThan(10);
		const tickets = generated.attendees.length + FIXTURE_POSITIONS;
		const chunks = Math.ceil(tickets / 25);
		expect(replies.filter((m) => m.startsWith('Progress: '))).toEqual(Array.from({ length: Math.floor(chunks / 4) }, (_, k) => `Progress: ${(k + 1) * 100} of ${tickets} tickets done.`));
		const summary = replies.find((m) => m.startsWith('Batch invite finished'))!;
		expect(summary).toMatch(new RegExp(`for ${tickets} tickets: ${invitees.length + FIXTURE_GRANTS} invited`));
		expect(invitees.filter((user) => services.homeserver.inviteCount(room, user) !== 1)).toEqual([]);
		// The ledger agrees, and holds no lease left open by the run.
		const stats = await ledger.stats('exampleorg/summit26');
		expect(stats.pending).toBe(0);
		expect(stats.invited).toBe(invitees.length + FIXTURE_GRANTS);
		// Nothing personal went to the attendees' room.
		for (const reply of replies) for (const user of invitees.slice(0, 20)) expect(reply).not.toContain(user);
	}, 700_000);
});
