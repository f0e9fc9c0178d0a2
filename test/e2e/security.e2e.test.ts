/**
 * Issue 12's attacks, replayed against a real n8n 2.x running the shipped templates (Auto-Join on,
 * one bot admin), the fake pretix and the fake homeserver. Each attack prints one line
 * `attack, expected, observed`; every one must be refused with nothing changed at the homeserver
 * or in the ledger. Power levels per the spec (attack 10) are unit tests:
 * test/unit/matrix/power-levels.test.ts.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Ledger, SqliteBackend } from '../../lib/store';
import { ledgerSecretProblem } from '../../lib/store/hashing';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { devSecrets } from '../../scripts/start';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { delay, N8nInstance, type WorkflowImport } from '../harness/n8n';
import { batchInvite, botMessages, command, loadTemplates } from './support';

const EVENT = 'exampleorg/summit26';
const lines: string[] = [];
function report(attack: string, expected: string, observed: string, ok: boolean): void {
	lines.push(`${ok ? 'refused' : 'NOT REFUSED'} | ${attack} | expected: ${expected} | observed: ${observed}`);
	expect({ attack, observed, ok }).toEqual({ attack, observed, ok: true });
}

describe('issue 12 attacks against the shipped templates (real n8n)', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let ledger: Ledger;
	let outsider: { userId: string };
	let volunteers: string;
	let volunteer: { userId: string };

	/** What an attack could change: invites at the homeserver, the ledger's rows and mappings. */
	async function snapshot() {
		const rooms = [services.attendeesRoom, services.organizersRoom, volunteers];
		return JSON.stringify({
			invites: rooms.map((room) => Object.entries(services.homeserver.members(room)).map(([user, membership]) => `${user}:${membership}`).sort()),
			mappings: await ledger.listMappings(),
			stats: await ledger.stats(EVENT),
		});
	}

	beforeAll(async () => {
		services = await startDemoServices();
		services.homeserver.exemptFromRateLimits(services.botUserId);
		outsider = services.homeserver.createUser('outsider');
		volunteer = services.homeserver.createUser('volunteer');
		volunteers = services.homeserver.createRoom({ creator: services.organizer.userId, name: 'Volunteers chat', members: [services.botUserId, volunteer.userId], powerLevels: { users: { [services.organizer.userId]: 100, [services.botUserId]: 50, [volunteer.userId]: 50 } } });
		// The organizer is the bot admin; Auto-Join is on in every command template.
		const templates = loadTemplates(services, { webhookSecret: null }).map((workflow: WorkflowImport) => {
			for (const node of workflow.nodes as Array<{ type: string; parameters: Record<string, unknown> }>) {
				if (!node.type.endsWith('.matrixCommandTrigger')) continue;
				node.parameters.allowlist = services.organizer.userId;
				node.parameters.options = { ...(node.parameters.options as object), autoJoin: true };
			}
			return workflow;
		});
		n8n = await N8nInstance.start({ label: 'security', credentials: templateCredentials(services), workflows: templates, publish: templates.filter((w) => !(w.nodes as Array<{ type: string }>).some((n) => n.type.endsWith('.pretixTrigger'))).map((w) => w.id) }); // the webhook templates keep their shipped empty secret: attack 3 tries to publish one
		const backend = new SqliteBackend({ path: path.join(n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite') });
		await backend.init();
		ledger = new Ledger(backend, { secret: DEMO_LEDGER_SECRET });
		await delay(3000);
		// The real event: mapped to the attendees' room by a moderator there, everyone invited.
		await command(services, n8n, services.attendeesRoom, `!setroom ${services.pretixUrl}/exampleorg/summit26/`);
		await batchInvite(services, n8n, services.attendeesRoom);
		// It is over, so a purge would act on it.
		const summit = (await (await fetch(`${services.pretixUrl}/api/v1/organizers/exampleorg/events/summit26/`, { headers: { Authorization: `Token ${services.pretixToken}` } })).json()) as Record<string, unknown>;
		services.pretix.addEvent('exampleorg', { ...summit, date_from: '2020-01-01T10:00:00Z', date_to: '2020-01-02T10:00:00Z' });
	}, 300_000);

	afterAll(async () => {
		console.log(`issue 12 attacks (attack | expected | observed):\n${lines.join('\n')}`);
		await n8n?.destroy();
		await services?.stop();
	});

	test('attack 1: an outsider invites the bot into their own room and commands it there', async () => {
		const before = await snapshot();
		const own = services.homeserver.createRoom({ creator: outsider.userId, name: 'Mine', members: [] });
		services.homeserver.setMembership(own, services.botUserId, 'invite', { sender: outsider.userId });
		await delay(4000);
		for (const text of [`!setroom ${services.pretixUrl}/exampleorg/summit26/`, '!batchinvite', '!purge']) services.homeserver.say(outsider.userId, own, text);
		await delay(4000);
		const joined = services.homeserver.membership(own, services.botUserId);
		report('1 Auto-Join by an outsider', 'bot stays out, nothing changes', `bot ${joined}, ${(await snapshot()) === before ? 'nothing changed' : 'CHANGED'}`, joined === 'invite' && (await snapshot()) === before);
		// An admin's invite is followed.
		const adminRoom = services.homeserver.createRoom({ creator: services.organizer.userId, name: 'Admin room', members: [] });
		services.homeserver.setMembership(adminRoom, services.botUserId, 'invite', { sender: services.organizer.userId });
		const deadline = Date.now() + 20_000;
		while (services.homeserver.membership(adminRoom, services.botUserId) !== 'join' && Date.now() < deadline) await delay(250);
		expect(services.homeserver.membership(adminRoom, services.botUserId)).toBe('join');
	});

	test('attack 2: a moderator of another room purges, remaps, batch-invites and looks up the real event', async () => {
		const before = await snapshot();
		const say = async (text: string) => {
			const seen = botMessages(services, volunteers).length;
			services.homeserver.say(volunteer.userId, volunteers, text);
			const deadline = Date.now() + 120_000;
			while (botMessages(services, volunteers).length === seen && Date.now() < deadline) await delay(250);
			await delay(1500);
			const replies = botMessages(services, volunteers).slice(seen).join(' / ');
			if (!replies) console.log(`no reply to ${text.split(' ')[0]}:\n${n8n.logs().split('\n').filter((l) => /error|Error|batch|Batch/.test(l)).slice(-40).join('\n')}`);
			return replies;
		};
		const setroom = await say(`!setroom ${services.pretixUrl}/exampleorg/summit26/`);
		const batch = await say(`!batchinvite ${services.pretixUrl}/exampleorg/summit26/`);
		const lookup = await say('!lookup @alice:example.org');
		const unset = await say(`!unsetroom ${services.pretixUrl}/exampleorg/summit26/`);
		services.homeserver.say(volunteer.userId, volunteers, '!purge');
		await delay(8000);
		const after = await snapshot();
		report('2a !setroom of another room\'s event', 'refused', setroom.slice(0, 80), /already received by another room/.test(setroom));
		report('2b !batchinvite <other room\'s event>', 'refused, nobody invited here', batch.slice(0, 80), /not mapped to this room/.test(batch));
		report('2c !lookup of an attendee of another room\'s event', 'nothing shown', lookup.slice(0, 80), /holds nothing .* in the events of this room/.test(lookup));
		report('2d !unsetroom / !purge of another room\'s event', 'nothing removed or purged', after === before ? 'nothing changed' : 'CHANGED', after === before);
	});

	test('attack 3: the unedited webhook template cannot go live; forged calls get nothing', async () => {
		const refused = await n8n.publish('pretixMatrixWebhookInvite').then(
			() => 'published',
			(error: Error) => error.message,
		);
		const forged = await fetch(n8n.webhookUrl(`${webhookId()}/pretix/replace-with-a-long-random-secret`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ notification_id: 1, organizer: 'exampleorg', event: 'summit26', code: 'ABC3K', action: 'pretix.event.order.canceled' }) });
		report('3 unedited webhook template', 'publish refused, URL dead', `${refused.slice(0, 60)}; forged call ${forged.status}`, refused !== 'published' && /pathSecret/i.test(refused) && forged.status === 404);
	});

	test('attack 4: a redirect from pretix to another origin gets no token', async () => {
		const seen: IncomingHttpHeaders[] = [];
		const thief = createServer((req, res) => {
			seen.push(req.headers);
			res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[],"count":0,"next":null}');
		});
		await new Promise<void>((resolve) => thief.listen(0, '127.0.0.1', resolve));
		const redirector = createServer((req, res) => res.writeHead(307, { location: `http://localhost:${(thief.address() as AddressInfo).port}${req.url}` }).end());
		await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
		try {
			await n8n.rest('PATCH', '/rest/credentials/pretixApiCredential', { name: 'pretix team token', type: 'pretixApi', data: { url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`, apiToken: services.pretixToken } });
			const replies = await command(services, n8n, services.attendeesRoom, '!status');
			const leaked = seen.filter((h) => h.authorization).length;
			report('4 pretix redirects to another origin', 'no token leaves the host', `${seen.length} request(s) at the other origin, ${leaked} with a token; reply: ${replies[0]?.slice(0, 40)}`, leaked === 0);
		} finally {
			await n8n.rest('PATCH', '/rest/credentials/pretixApiCredential', { name: 'pretix team token', type: 'pretixApi', data: { url: services.pretixUrl, apiToken: services.pretixToken } });
			thief.close();
			redirector.close();
		}
	});

	test('attack 5: a weak ledger secret is refused before anything is written', async () => {
		const before = await snapshot();
		await n8n.rest('PATCH', '/rest/credentials/dedupeStoreCredential', { name: 'Invite ledger', type: 'dedupeStoreApi', data: { backend: 'embedded', hmacSecret: '12345678' } });
		try {
			services.homeserver.say(services.organizer.userId, services.attendeesRoom, '!batchinvite');
			await delay(8000);
			const failed = (await n8n.executions('pretixMatrixBatchInvite', true, 'error')).map((e) => e.data?.resultData.error?.message ?? '');
			const message = failed.find((m) => /ledger secret/.test(m)) ?? failed[0] ?? 'no error';
			report('5 ledger secret "12345678"', 'refused, nothing written', `${message.slice(0, 70)}; ${(await snapshot()) === before ? 'nothing changed' : 'CHANGED'}`, /at least 32 characters/.test(message) && (await snapshot()) === before);
		} finally {
			await n8n.rest('PATCH', '/rest/credentials/dedupeStoreCredential', { name: 'Invite ledger', type: 'dedupeStoreApi', data: { backend: 'embedded', hmacSecret: DEMO_LEDGER_SECRET } });
		}
		expect(ledgerSecretProblem('12345678')).toMatch(/at least 32/);
	});

	test('attack 6: order codes of invalid IDs never reach the room where the command was typed', async () => {
		const replies = await batchInvite(services, n8n, services.attendeesRoom);
		const codes = ['G8WXY', 'H3TUV', 'M8BCX'];
		const leaked = codes.filter((code) => replies.some((reply) => reply.includes(code)));
		report('6 order codes in the attendees\' room', 'counts only', leaked.length ? `leaked ${leaked.join(', ')}` : `counts only (${replies.at(-1)?.slice(0, 50)})`, leaked.length === 0);
	});

	test('attack 7: a command typed while n8n restarts is answered after the restart', async () => {
		await n8n.stop();
		const eventBefore = botMessages(services, services.attendeesRoom).length;
		services.homeserver.say(services.organizer.userId, services.attendeesRoom, '!status');
		await n8n.restart();
		const deadline = Date.now() + 90_000;
		while (botMessages(services, services.attendeesRoom).length === eventBefore && Date.now() < deadline) await delay(500);
		const answer = botMessages(services, services.attendeesRoom).slice(eventBefore)[0] ?? '';
		report('7 command while n8n was down', 'processed after restart', answer ? `answered: ${answer.slice(0, 40)}` : 'silently dropped', /pretix/.test(answer));
	}, 240_000);

	test('attack 8: npm start ships no fixed key, password or all-scope API key', () => {
		const a = mkdtempSync(path.join(tmpdir(), 'npm-start-'));
		const b = mkdtempSync(path.join(tmpdir(), 'npm-start-'));
		try {
			const first = devSecrets(a).secrets;
			const second = devSecrets(b).secrets;
			const distinct = (['encryptionKey', 'ownerPassword', 'ledgerSecret', 'webhookPathSecret'] as const).every((k) => first[k] !== second[k]);
			report('8 npm start defaults', 'random per data folder', distinct ? 'random per folder' : 'SHARED', distinct && first.ownerPassword !== 'Organizer-Passw0rd');
		} finally {
			rmSync(a, { recursive: true, force: true });
			rmSync(b, { recursive: true, force: true });
		}
	});

	test("attack 9: the ledger pointed at n8n's own database is refused", async () => {
		const database = path.join(n8n.userFolder, '.n8n/database.sqlite');
		const before = await snapshot();
		await n8n.rest('PATCH', '/rest/credentials/dedupeStoreCredential', { name: 'Invite ledger', type: 'dedupeStoreApi', data: { backend: 'embedded', filePath: database, hmacSecret: DEMO_LEDGER_SECRET } });
		try {
			services.homeserver.say(services.organizer.userId, services.attendeesRoom, '!batchinvite');
			await delay(8000);
			const failed = (await n8n.executions('pretixMatrixBatchInvite', true, 'error')).map((e) => e.data?.resultData.error?.message ?? '');
			const message = failed.find((m) => /n8n's own|store file/.test(m)) ?? failed[0] ?? 'no error';
			report("9 ledger file = n8n's database.sqlite", 'refused', message.slice(0, 80), /n8n/.test(message) && (await snapshot()) === before);
		} finally {
			await n8n.rest('PATCH', '/rest/credentials/dedupeStoreCredential', { name: 'Invite ledger', type: 'dedupeStoreApi', data: { backend: 'embedded', hmacSecret: DEMO_LEDGER_SECRET } });
		}
	});

	function webhookId(): string {
		const workflow = loadTemplates(services, { only: ['pretixMatrixWebhookInvite'] })[0];
		return (workflow.nodes as Array<{ type: string; webhookId?: string }>).find((n) => n.type.endsWith('.pretixTrigger'))!.webhookId!;
	}
});
