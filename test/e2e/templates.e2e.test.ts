/**
 * The workflows/ templates in a real n8n 2.x, all imported and published together with one bot
 * account, against the fake pretix and the fake homeserver: chat commands typed into rooms, pretix
 * webhooks delivered to the production URL, the purge run. Asserts invites counted at the
 * homeserver (exactly once), replies, ledger contents, and that n8n's logs carry no personal data.
 */
import path from 'node:path';

import { Ledger, SqliteBackend } from '../../lib/store';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { readFixture } from '../fakes/pretix';
import { delay, N8nInstance, runData } from '../harness/n8n';
import { connectN8nApi, loadTemplates, WEBHOOK_SECRET, webhookPath } from './support';

const EVENT_KEY = 'exampleorg/summit26';
const LEDGER_SECRET = DEMO_LEDGER_SECRET;

/** Valid Matrix IDs of the paid fixture orders, normalised (see test/fixtures/pretix/README.md). */
const VALID_INVITEES = ['@alice:example.org', '@dave:example.org', '@frank:example.org', '@grace:example.net', '@heidi:chat.example.org', '@ivan:example.org', '@laura:example.org', '@mallory:example.org', '@niaj:example.org', '@peggy:example.org'];
/** Invalid answers of paid fixture orders: order codes the reports may name. */
const INVALID_ORDERS = ['G8WXY', 'H3TUV', 'M8BCX'];
/** Everything personal in the fixtures, which n8n's own log must never show. */
const PERSONAL_DATA = [...VALID_INVITEES, '@judy', 'ken smith', 'ABC3K', 'D9HLM', 'E3PZV', 'F7KMA', 'G8WXY', 'H3TUV', 'J9QRS', 'K7MNP', 'L3DFG', 'M8BCX', 'N7VWZ', 'P3HJK', '@Laura:Example.ORG', 'WNEW1', 'WBAD2', '@newbie:example.org'];

describe('templates in real n8n', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let ledger: Ledger;

	const bot = () => services.botUserId;
	const botMessages = (roomId: string) => services.homeserver.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot()).map((e) => String((e.content as { body?: unknown }).body ?? ''));

	async function command(roomId: string, text: string, expectReplies = 1, timeoutMs = 60_000): Promise<string[]> {
		const before = botMessages(roomId).length;
		services.homeserver.say(services.organizer.userId, roomId, text);
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			const replies = botMessages(roomId).slice(before);
			if (replies.length >= expectReplies) {
				await delay(1500); // a second reply would be a double reply: give it time to show up
				return botMessages(roomId).slice(before);
			}
			await delay(200);
		}
		throw new Error(`No reply to "${text.split(' ')[0]}" within ${timeoutMs} ms:\n${n8n.logs().slice(-3000)}`);
	}

	/** The executions of the webhook template started by one pretix notification. */
	async function executionsFor(notificationId: number) {
		const all = await n8n.executions('pretixMatrixWebhookInvite', true);
		return all.filter((e) => runData(e, 'pretix webhook').some((item) => item.notificationId === notificationId));
	}

	async function waitForNotification(notificationId: number, timeoutMs = 60_000) {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			const runs = (await executionsFor(notificationId)).filter((e) => e.finished || e.status === 'success' || e.status === 'error');
			if (runs.length) return runs;
			await delay(300);
		}
		throw new Error(`No finished execution for pretix notification ${notificationId}:\n${n8n.logs().slice(-3000)}`);
	}

	function inviteCounts(roomId: string, users: string[]): number[] {
		return users.map((user) => services.homeserver.inviteCount(roomId, user));
	}

	beforeAll(async () => {
		services = await startDemoServices();
		const templates = loadTemplates(services);
		expect(WEBHOOK_SECRET.length).toBeGreaterThanOrEqual(22);
		n8n = await N8nInstance.start({ label: 'templates', credentials: templateCredentials(services), workflows: templates, publish: templates.filter((w) => w.id !== 'pretixMatrixPurge').map((w) => w.id) });
		await connectN8nApi(n8n);
		const backend = new SqliteBackend({ path: path.join(n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite') });
		await backend.init();
		ledger = new Ledger(backend, { secret: LEDGER_SECRET });
		// pretix learns the webhook URL as an organizer would configure it.
		services.pretix.addWebhook({ target_url: n8n.webhookUrl(webhookPath(templates)), action_types: ['pretix.event.order.placed', 'pretix.event.order.paid', 'pretix.event.order.canceled', 'pretix.event.order.modified', 'pretix.event.order.changed.*', 'pretix.event.order.expired'] });
		// Command triggers need their first sync before a typed command counts as new.
		await delay(3000);
	}, 240_000);

	afterAll(async () => {
		await n8n?.destroy();
		await services?.stop();
	});

	test('!help lists the commands, once', async () => {
		const replies = await command(services.organizersRoom, '!help');
		expect(replies).toHaveLength(1);
		expect(replies[0]).toContain('!setroom');
		expect(replies[0]).toContain('!batchinvite');
	});

	test('in a room mapped to no event, !status and !batchinvite say so', async () => {
		const status = await command(services.organizersRoom, '!status');
		expect(status).toHaveLength(1);
		expect(status[0]).toMatch(/pretix.*connected/);
		expect(status[0]).toContain('not mapped to any pretix event');
		const batch = await command(services.organizersRoom, '!batchinvite');
		expect(batch).toEqual([expect.stringContaining('No pretix event is mapped to this room')]);
	});

	test('!setroom checks the URL against pretix and maps the room', async () => {
		const bad = await command(services.attendeesRoom, `!setroom ${services.pretixUrl}/exampleorg/nosuchevent/`);
		expect(bad).toHaveLength(1);
		expect(bad[0]).toMatch(/could not use that pretix event/);
		const replies = await command(services.attendeesRoom, `!setroom ${services.pretixUrl}/exampleorg/summit26/`);
		expect(replies).toHaveLength(1);
		expect(replies[0]).toContain(`(${EVENT_KEY})`);
		expect(await ledger.listMappings({ event: EVENT_KEY })).toEqual([expect.objectContaining({ event: EVENT_KEY, room: services.attendeesRoom })]);
	});

	test('!preflight checks the mapped room: ready, then the missing kick power named; nothing sent to anyone else', async () => {
		const ready = await command(services.attendeesRoom, '!preflight');
		expect(ready).toHaveLength(1);
		expect(ready[0]).toMatch(/Preflight of 1 mapped room/);
		expect(ready[0]).toMatch(/✅ .*can invite and kick/);
		// The room's moderators raise kick above the bot's 50: the bot could no longer withdraw tickets.
		services.homeserver.setPowerLevels(services.attendeesRoom, { kick: 75 });
		try {
			const organizersBefore = botMessages(services.organizersRoom).length;
			const missing = await command(services.attendeesRoom, '!preflight');
			expect(missing).toHaveLength(1);
			expect(missing[0]).toMatch(/⚠️ .*kick \(75\)/);
			expect(botMessages(services.organizersRoom)).toHaveLength(organizersBefore);
			for (const user of VALID_INVITEES) expect(services.homeserver.membership(services.attendeesRoom, user)).toBeUndefined();
		} finally {
			services.homeserver.setPowerLevels(services.attendeesRoom, { kick: 50 });
		}
	});

	test('!batchinvite invites every valid attendee exactly once; counts here, invalid IDs by order code to the organizers only', async () => {
		const organizersBefore = botMessages(services.organizersRoom).length;
		const replies = await command(services.attendeesRoom, '!batchinvite', 1, 120_000);
		expect(replies).toHaveLength(1);
		expect(inviteCounts(services.attendeesRoom, VALID_INVITEES)).toEqual(VALID_INVITEES.map(() => 1));
		for (const user of VALID_INVITEES) expect(services.homeserver.membership(services.attendeesRoom, user)).toBe('invite');
		// The attendees' room gets counts only: no order code, no Matrix ID.
		for (const code of PERSONAL_DATA) expect(replies[0]).not.toContain(code);
		expect(replies[0]).toMatch(/\b3 without a usable Matrix ID/);
		const toOrganizers = botMessages(services.organizersRoom).slice(organizersBefore);
		expect(toOrganizers).toHaveLength(1);
		for (const code of INVALID_ORDERS) expect(toOrganizers[0]).toContain(code);
		for (const id of VALID_INVITEES) expect(toOrganizers[0]).not.toContain(id);

		// Again: nothing new to do, nobody invited twice, no second report.
		const again = await command(services.attendeesRoom, '!batchinvite', 1, 120_000);
		expect(again[0]).toMatch(/\b0 invited/);
		expect(inviteCounts(services.attendeesRoom, VALID_INVITEES)).toEqual(VALID_INVITEES.map(() => 1));
		expect(botMessages(services.organizersRoom).slice(organizersBefore)).toHaveLength(1);
	});

	test('a pretix webhook invites a new attendee once, retries and duplicates change nothing, a cancellation revokes', async () => {
		services.pretix.addOrder(fixtureOrder('WNEW1', 9101, '@newbie:example.org'), 'exampleorg', 'summit26', true);
		const paid = services.pretix.notify('pretix.event.order.paid', { event: 'summit26', code: 'WNEW1' });
		expect(await Promise.all(paid.deliveries.map((d) => d.done))).toEqual(['delivered']);
		await waitForNotification(paid.notificationId);
		expect(services.homeserver.inviteCount(services.attendeesRoom, '@newbie:example.org')).toBe(1);

		// pretix delivers the same notification again (same notification_id), then a new one.
		const again = services.pretix.deliver(n8n.webhookUrl(webhookPath(loadTemplates(services))), { notification_id: paid.notificationId, organizer: 'exampleorg', event: 'summit26', code: 'WNEW1', action: 'pretix.event.order.paid' });
		expect(await again.done).toBe('delivered');
		const modified = services.pretix.notify('pretix.event.order.modified', { event: 'summit26', code: 'WNEW1' });
		await Promise.all(modified.deliveries.map((d) => d.done));
		await waitForNotification(modified.notificationId);
		expect(services.homeserver.inviteCount(services.attendeesRoom, '@newbie:example.org')).toBe(1);
		expect((await executionsFor(paid.notificationId)).length).toBe(1);

		services.pretix.updateOrder('WNEW1', (o) => {
			o.status = 'c';
		});
		const canceled = services.pretix.notify('pretix.event.order.canceled', { event: 'summit26', code: 'WNEW1' });
		await Promise.all(canceled.deliveries.map((d) => d.done));
		await waitForNotification(canceled.notificationId);
		expect(services.homeserver.membership(services.attendeesRoom, '@newbie:example.org')).toBe('leave');
		expect(services.homeserver.inviteCount(services.attendeesRoom, '@newbie:example.org')).toBe(1);
	});

	test('an invalid Matrix ID from a webhook is reported once to the organizers, by order code', async () => {
		services.pretix.addOrder(fixtureOrder('WBAD2', 9102, 'not a matrix id'), 'exampleorg', 'summit26', true);
		const before = botMessages(services.organizersRoom).length;
		const paid = services.pretix.notify('pretix.event.order.paid', { event: 'summit26', code: 'WBAD2' });
		const modified = services.pretix.notify('pretix.event.order.modified', { event: 'summit26', code: 'WBAD2' });
		await waitForNotification(paid.notificationId);
		await waitForNotification(modified.notificationId);
		await delay(1000);
		const reports = botMessages(services.organizersRoom).slice(before);
		expect(reports).toHaveLength(1);
		expect(reports[0]).toContain('WBAD2');
		expect(reports[0]).not.toContain('not a matrix id');
	});

	test('!status shows the pretix connection, the mapping and the counts', async () => {
		const replies = await command(services.attendeesRoom, '!status');
		expect(replies).toHaveLength(1);
		expect(replies[0]).toMatch(/pretix.*connected/);
		expect(replies[0]).toContain(EVENT_KEY);
		expect(replies[0]).toMatch(/\d+ invited/);
	});

	test('the purge records accepted invitations, posts an aggregate summary and deletes the event data', async () => {
		for (const user of ['@alice:example.org', '@dave:example.org']) services.homeserver.setMembership(services.attendeesRoom, user, 'join');
		await n8n.publish('pretixMatrixPurge');
		await delay(3000);
		// A room's moderator purges the events of that room; the counts come back there (no IDs).
		const replies = await command(services.attendeesRoom, '!purge', 1, 120_000);
		expect(replies).toHaveLength(1);
		expect(replies[0]).toContain(EVENT_KEY);
		// alice holds two tickets (ABC3K, P3HJK) with the same Matrix ID: accepted counts tickets.
		expect(replies[0]).toMatch(/\b3 accepted/);
		for (const id of VALID_INVITEES) expect(replies[0]).not.toContain(id);
		const stats = await ledger.stats(EVENT_KEY);
		expect(stats.held).toBe(0);
		expect(stats.accepted).toBe(3);
		expect(await ledger.listMappings({ event: EVENT_KEY })).toEqual([]);
		expect(await ledger.lookup({ matrixId: '@alice:example.org' })).toEqual([]);
	});

	test('the daily schedule purges an event that has ended, without a command', async () => {
		const summit = (await (await fetch(`${services.pretixUrl}/api/v1/organizers/exampleorg/events/summit26/`, { headers: { Authorization: `Token ${services.pretixToken}` } })).json()) as Record<string, unknown>;
		services.pretix.addEvent('exampleorg', { ...summit, slug: 'winter26', name: { en: 'Winter 26' }, public_url: undefined });
		const mapped = await command(services.attendeesRoom, `!setroom ${services.pretixUrl}/exampleorg/winter26/`);
		expect(mapped[0]).toContain('(exampleorg/winter26)');
		expect(await ledger.listMappings({ event: 'exampleorg/winter26' })).toHaveLength(1);
		// The template fires daily at 03:00; here every 5 seconds, through the public API as a user would edit it.
		const workflow = (await n8n.api('GET', '/workflows/pretixMatrixPurge')) as { name: string; nodes: Array<{ name: string; disabled?: boolean; parameters: Record<string, unknown> }>; connections: unknown; settings: Record<string, unknown> };
		const schedule = workflow.nodes.find((node) => node.name === 'Every day')!;
		schedule.parameters = { rule: { interval: [{ field: 'seconds', secondsInterval: 5 }] } };
		// loadTemplates switches schedules off (see there); this test turns its own on.
		schedule.disabled = false;
		await n8n.api('PUT', '/workflows/pretixMatrixPurge', { name: workflow.name, nodes: workflow.nodes, connections: workflow.connections, settings: { executionOrder: 'v1' } });
		await n8n.publish('pretixMatrixPurge');
		// The summary is posted last, after the data (ledger, executions) is deleted.
		const isSummary = (text: string) => text.includes('exampleorg/winter26 is over');
		const deadline = Date.now() + 90_000;
		while (!botMessages(services.organizersRoom).some(isSummary) && Date.now() < deadline) await delay(500);
		const scheduled = (await n8n.executions('pretixMatrixPurge', false)).filter((e) => e.mode === 'trigger');
		await n8n.unpublish('pretixMatrixPurge');
		expect(botMessages(services.organizersRoom).filter(isSummary)).toHaveLength(1);
		expect(scheduled.length).toBeGreaterThan(0);
		expect(await ledger.listMappings({ event: 'exampleorg/winter26' })).toEqual([]);
	});

	test("n8n's log holds none of the fixture Matrix IDs or order codes", () => {
		const log = n8n.logs();
		const leaked = PERSONAL_DATA.filter((value) => log.includes(value));
		expect(leaked).toEqual([]);
	});

	test('execution data carries Matrix IDs only in the nodes that must handle them', async () => {
		// Replies, summaries, counts and the purge result are aggregate: no attendee data may reach them.
		const aggregate = /^(Reply: |Post summary$|Summary$|Final counts$|Counts$|Purge event$|Mapped events$|Mappings of)/;
		const leaks: string[] = [];
		for (const workflowId of ['pretixMatrixBatchInvite', 'pretixMatrixStatus', 'pretixMatrixPurge', 'pretixMatrixRoomMapping']) {
			for (const execution of await n8n.executions(workflowId, true)) {
				for (const [node, runs] of Object.entries(execution.data?.resultData.runData ?? {})) {
					if (!aggregate.test(node)) continue;
					const text = JSON.stringify(runs);
					for (const value of PERSONAL_DATA.filter((v) => v.startsWith('@') || v === 'ken smith')) if (text.includes(value)) leaks.push(`${workflowId}/${node}: ${value}`);
				}
			}
		}
		expect(leaks).toEqual([]);
	});
});

/** A paid order like the fixture ABC3K with one ticket and the given Matrix ID answer. */
function fixtureOrder(code: string, positionId: number, answer: string): Record<string, unknown> {
	const order = structuredClone(readFixture<Record<string, unknown>>('order-detail-ABC3K.json')) as Record<string, unknown> & { positions: Array<Record<string, unknown>> };
	order.code = code;
	order.positions = [{ ...order.positions[0], id: positionId, order: code, answers: [{ question: 101, question_identifier: 'matrix', answer, options: [], option_identifiers: [] }] }];
	return order;
}
