/**
 * Encrypted command rooms (issue 18) through n8n's engine: the Matrix Command Trigger holds the
 * bot's crypto device (matrix-js-sdk Rust crypto), Matrix Invite's message operation replies through
 * it. The organizer is a second real matrix-js-sdk client with Rust crypto; the fake homeserver
 * carries keys and to-device messages with Synapse's rules (test/fakes/matrix/e2ee.ts).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { startCryptoClient, type CryptoClient } from '../fakes/matrix/crypto-client';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { INSTALLED_PACKAGE_DIR, runWorkflow, startTrigger, wf, type TriggerHandle } from '../harness/engine';

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 25));
	}
}

const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };

describe('Matrix Command Trigger in encrypted rooms', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let creds: { matrixBotApi: ICredentialDataDecryptedObject };
	let userFolder: string;
	const savedUserFolder = process.env.N8N_USER_FOLDER;
	const handles: TriggerHandle[] = [];
	const organizers: CryptoClient[] = [];

	beforeEach(async () => {
		// The crypto store goes to n8n's folder: a fresh one per test.
		userFolder = mkdtempSync(join(tmpdir(), 'crypto-engine-'));
		process.env.N8N_USER_FOLDER = userFolder;
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', MEGOLM);
		creds = { matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken } };
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		for (const o of organizers.splice(0)) await o.stop();
		await hs.stop();
		rmSync(userFolder, { recursive: true, force: true });
		process.env.N8N_USER_FOLDER = savedUserFolder;
	});

	const workflow = (parameters: IDataObject = {}) =>
		wf([
			{ name: 'Commands', type: 'matrixCommandTrigger', parameters: parameters as never, credentials: ['matrixBotApi'] },
			{
				name: 'Reply',
				type: 'matrixInvite',
				credentials: ['matrixBotApi'],
				parameters: {
					operation: 'message',
					room: '={{ $json.roomId }}',
					text: '={{ "Status: " + $json.command + " ok" }}',
					messageOptions: { replyTo: '={{ $json.eventId }}' },
				} as never,
			},
		]);

	const start = async (parameters: IDataObject = {}, staticData?: IDataObject) => {
		const t = await startTrigger({ workflow: workflow(parameters), node: 'Commands', credentials: creds, staticData });
		handles.push(t);
		// The bot's device published its keys: the organizer's client can share room keys with it.
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId) && hs.countRequests({ path: /\/sync$/ }) >= 2);
		return t;
	};
	const organizer = async () => {
		// The organizer uses the SDK copy the nodes use (one per realm, see crypto-client.ts).
		const o = await startCryptoClient(hs.url, mod, { sdkFrom: process.env.ENGINE_SOURCE === 'ts' ? undefined : INSTALLED_PACKAGE_DIR });
		organizers.push(o);
		return o;
	};
	const storeFiles = () => {
		const folder = join(userFolder, '.n8n', 'pretix-matrix-crypto');
		return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.store')) : [];
	};

	test('round trip: an encrypted !status in, the trigger emits it, the reply goes out encrypted and the organizer reads it', async () => {
		const t = await start();
		const org = await organizer();
		const commandId = await org.say(roomId, '!status');
		await t.waitForEmits(1, 20_000);
		expect(t.emitted[0][0].map((i) => i.json)).toEqual([
			expect.objectContaining({ command: 'status', args: [], roomId, sender: mod.userId, role: 'moderator', eventId: commandId }),
		]);
		await until(() => t.runs.length === 1);
		expect(t.runs[0].status).toBe('success');
		expect(t.runs[0].output('Reply')[0].matrix).toMatchObject({ status: 'sent', roomId });
		// The organizer's client decrypted the bot's reply: the text, and the reply relation.
		await until(() => org.received.some((m) => m.sender === bot.userId && !m.failed));
		const reply = org.received.find((m) => m.sender === bot.userId)!;
		expect(reply).toMatchObject({ type: 'm.room.message', encrypted: true, failed: false });
		expect(reply.content).toMatchObject({
			msgtype: 'm.notice',
			body: 'Status: status ok',
			'm.relates_to': { 'm.in_reply_to': { event_id: commandId } },
		});
		// The homeserver saw ciphertext only: no m.room.message in the room, from anyone.
		const messages = hs.timeline(roomId).filter((e) => e.state_key === undefined);
		expect(messages.map((e) => e.type)).toEqual(['m.room.encrypted', 'm.room.encrypted']);
		expect(JSON.stringify(messages)).not.toContain('Status: status ok');
		expect(JSON.stringify(messages)).not.toContain('!status');
		// One store file for the bot's device, readable by n8n's user only; its name names nobody.
		const files = storeFiles();
		expect(files).toHaveLength(1);
		expect(files[0]).not.toMatch(/bot|localhost/);
		expect(statSync(join(userFolder, '.n8n', 'pretix-matrix-crypto', files[0])).mode & 0o777).toBe(0o600);
	}, 60_000);

	test('the store survives a restart: same device, same identity keys, no new keys for it, commands still decrypt', async () => {
		const first = await start();
		const keysBefore = structuredClone(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		const org = await organizer();
		await org.say(roomId, '!status');
		await first.waitForEmits(1, 20_000);
		await first.close();
		handles.splice(handles.indexOf(first), 1);
		const uploadsBefore = hs.e2ee.deviceKeyUploads.filter((u) => u.userId === bot.userId).length;

		const second = await start({}, first.staticData);
		// Same device (the access token's), the same identity keys, never replaced.
		expect(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId)).toEqual(keysBefore);
		expect(hs.e2ee.deviceKeyUploads.filter((u) => u.userId === bot.userId && u.changed)).toEqual([]);
		// The device keys were not uploaded again: the restored store knows they are published.
		expect(hs.e2ee.deviceKeyUploads.filter((u) => u.userId === bot.userId)).toHaveLength(uploadsBefore);
		expect(hs.deviceCount(bot.userId)).toBe(1);
		expect(storeFiles()).toHaveLength(1);
		// The Megolm session the organizer already shared is still known: a second command decrypts.
		const again = await org.say(roomId, '!stats');
		await second.waitForEmits(1, 20_000);
		expect(second.emitted[0][0][0].json).toMatchObject({ command: 'stats', eventId: again });
		await until(() => second.runs.length === 1);
		expect(second.runs[0].status).toBe('success');
		await until(() => org.received.filter((m) => m.sender === bot.userId && !m.failed).length === 2);
	}, 90_000);

	test('an unencrypted room keeps working without any crypto set-up', async () => {
		const plain = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const t = await startTrigger({ workflow: workflow({ rooms: plain }), node: 'Commands', credentials: creds });
		handles.push(t);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
		const eventId = hs.say(mod.userId, plain, '!status');
		await t.waitForEmits(1);
		await until(() => t.runs.length === 1);
		expect(t.runs[0].status).toBe('success');
		expect(hs.timeline(plain, 'm.room.message').find((e) => e.sender === bot.userId)?.content).toMatchObject({
			body: 'Status: status ok',
			'm.relates_to': { 'm.in_reply_to': { event_id: eventId } },
		});
		// No keys, no store: the crypto never started.
		expect(hs.countRequests({ path: /\/(keys|sendToDevice|room_keys)\// })).toBe(0);
		expect(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId)).toBeUndefined();
		expect(storeFiles()).toEqual([]);
	});

	test('who else: a command in an encrypted room the trigger is not configured for is ignored', async () => {
		const other = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(other, 'm.room.encryption', MEGOLM);
		const t = await start({ rooms: roomId });
		const org = await organizer();
		await org.say(other, '!status');
		const wanted = await org.say(roomId, '!stats');
		await t.waitForEmits(1, 20_000);
		await until(() => t.runs.length === 1);
		expect(t.emitted.map((e) => e[0][0].json.eventId)).toEqual([wanted]);
		// Nothing was posted into the other room (no reply, no refusal).
		expect(hs.timeline(other).filter((e) => e.sender === bot.userId && e.state_key === undefined)).toEqual([]);
	}, 60_000);

	test('without a crypto device in the process (a queue-mode worker) a reply into an encrypted room fails clearly and nothing is sent', async () => {
		const run = await runWorkflow({
			workflow: wf([
				{
					name: 'Reply',
					type: 'matrixInvite',
					credentials: ['matrixBotApi'],
					parameters: { operation: 'message', room: roomId, text: 'secret status' } as never,
				},
			]),
			credentials: creds,
		});
		expect(run.status).toBe('error');
		expect(run.error?.message).toMatch(/end-to-end encrypted.*no Matrix Command Trigger of this bot runs with encryption in this n8n process/);
		expect(run.error?.message).not.toMatch(/@|!|\$|syt_|localhost/);
		expect(hs.timeline(roomId).filter((e) => e.sender === bot.userId && e.state_key === undefined)).toEqual([]);
		expect(JSON.stringify(hs.timeline(roomId))).not.toContain('secret status');
	});
});
