/**
 * The Matrix bot credential in user + password mode, in a real n8n: the Command Trigger logs in and
 * syncs, the Matrix Invite node's reply authenticates through n8n's preAuthentication, and the bot
 * does not pile up devices (one login reused, not one per request).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { templateCredentials } from '../../scripts/template-credentials';
import { delay, N8nInstance, REPO_ROOT, type WorkflowImport } from '../harness/n8n';

describe('Matrix bot with user and password in real n8n', () => {
	let services: DemoServices;
	let n8n: N8nInstance;

	beforeAll(async () => {
		services = await startDemoServices();
		const credentials = templateCredentials(services).map((credential) =>
			credential.type === 'matrixBotApi'
				? { ...credential, data: { homeserverUrl: services.homeserverUrl, authMode: 'password', user: 'eventbot', password: 'demo-bot-password' } }
				: credential,
		);
		const status = JSON.parse(readFileSync(path.join(REPO_ROOT, 'workflows/status-reply.json'), 'utf8')) as WorkflowImport;
		n8n = await N8nInstance.start({ label: 'matrix-password', credentials, workflows: [status] });
		await delay(3000);
	}, 180_000);

	afterAll(async () => {
		await n8n?.destroy();
		await services?.stop();
	});

	test('commands arrive and replies are sent with a token from one password login', async () => {
		const devicesBefore = services.homeserver.deviceCount(services.botUserId);
		for (const round of [1, 2, 3]) {
			const before = services.homeserver.timeline(services.organizersRoom, 'm.room.message').filter((e) => e.sender === services.botUserId).length;
			services.homeserver.say(services.organizer.userId, services.organizersRoom, '!help');
			const deadline = Date.now() + 60_000;
			let replies: string[] = [];
			while (Date.now() < deadline) {
				replies = services.homeserver
					.timeline(services.organizersRoom, 'm.room.message')
					.filter((e) => e.sender === services.botUserId)
					.slice(before)
					.map((e) => String((e.content as { body?: unknown }).body ?? ''));
				if (replies.length) break;
				await delay(200);
			}
			expect({ round, replies: replies.length }).toEqual({ round, replies: 1 });
			expect(replies[0]).toContain('!batchinvite');
		}
		// The trigger's session and the node's session: a login each at most, never one per reply.
		const logins = services.homeserver.countRequests({ method: 'POST', path: /\/login$/ });
		expect(logins).toBeGreaterThanOrEqual(1);
		expect(logins).toBeLessThanOrEqual(2);
		expect(services.homeserver.deviceCount(services.botUserId) - devicesBefore).toBeLessThanOrEqual(2);
		expect(n8n.logs()).not.toContain('demo-bot-password');
	});
});
