/**
 * Issue 18 in a real n8n: an encrypted organizers' room. The status template's Command Trigger
 * sets up the bot's crypto device (the room is encrypted), an organizer's matrix-js-sdk client with
 * Rust crypto types an encrypted `!help`, the template's Matrix Invite node replies through the
 * trigger's device, and the organizer decrypts the reply; the homeserver holds ciphertext only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { templateCredentials } from '../../scripts/template-credentials';
import { startCryptoClient, type CryptoClient } from '../fakes/matrix/crypto-client';
import { delay, N8nInstance, REPO_ROOT, type WorkflowImport } from '../harness/n8n';

describe('encrypted command room in real n8n', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let orga: CryptoClient | undefined;
	let organizer: { userId: string; accessToken: string; deviceId: string };

	beforeAll(async () => {
		services = await startDemoServices();
		const hs = services.homeserver;
		hs.setState(services.organizersRoom, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		// An organizer of our own, whose device we know (the demo's organizer is a plain token).
		organizer = hs.createUser('cryptorga');
		hs.setMembership(services.organizersRoom, organizer.userId, 'join');
		hs.setPowerLevel(services.organizersRoom, organizer.userId, 100);
		const status = JSON.parse(readFileSync(path.join(REPO_ROOT, 'workflows/status-reply.json'), 'utf8')) as WorkflowImport;
		n8n = await N8nInstance.start({ label: 'encrypted-room', credentials: templateCredentials(services), workflows: [status] });
		// The bot's device has published its keys (the trigger started its crypto).
		const deadline = Date.now() + 60_000;
		while (!hs.countRequests({ method: 'POST', path: /\/keys\/upload$/, status: 200 }) && Date.now() < deadline) await delay(200);
	}, 180_000);

	afterAll(async () => {
		await orga?.stop();
		await n8n?.destroy();
		await services?.stop();
	});

	test('command in (encrypted), reply out (encrypted), decrypted by the organizer', async () => {
		const hs = services.homeserver;
		expect(hs.countRequests({ method: 'POST', path: /\/keys\/upload$/, status: 200 })).toBeGreaterThan(0);
		orga = await startCryptoClient(hs.url, organizer);
		const before = hs.timeline(services.organizersRoom).length;
		await orga.say(services.organizersRoom, '!help');
		const deadline = Date.now() + 90_000;
		while (!orga.received.some((m) => m.sender === services.botUserId && !m.failed) && Date.now() < deadline) await delay(200);
		const reply = orga.received.find((m) => m.sender === services.botUserId && !m.failed);
		expect(reply).toMatchObject({ type: 'm.room.message', encrypted: true });
		expect(String(reply?.content.body)).toContain('!batchinvite');
		// Ciphertext only at the homeserver: no m.room.message in the room, from anyone.
		const events = hs.timeline(services.organizersRoom).slice(before).filter((e) => e.state_key === undefined);
		expect(events.map((e) => e.type).filter((t) => t !== 'm.room.encrypted')).toEqual([]);
		expect(events.filter((e) => e.sender === services.botUserId)).toHaveLength(1);
		expect(JSON.stringify(events)).not.toContain('!batchinvite');
		// The bot device's store: one file in n8n's folder, n8n's user only.
		const folder = path.join(n8n.userFolder, '.n8n', 'pretix-matrix-crypto');
		expect(existsSync(folder)).toBe(true);
		const files = readdirSync(folder).filter((f) => f.endsWith('.store'));
		expect(files).toHaveLength(1);
		expect(statSync(path.join(folder, files[0])).mode & 0o777).toBe(0o600);
		// Privacy rule: n8n's log names no Matrix ID or room.
		const logs = n8n.logs();
		for (const id of [organizer.userId, services.botUserId, services.organizersRoom]) expect(logs).not.toContain(id);
	}, 150_000);
});
