/**
 * What the e2e files share: the workflows/ templates as an organizer fills them in (organizers'
 * room, a webhook path secret), the webhook URL of the imported template, and waiting for the
 * executions a pretix notification started.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { DemoServices } from '../../scripts/demo';
import { setPathSecrets } from '../harness/templates';
import { delay, N8nInstance, REPO_ROOT, runData, type WorkflowImport } from '../harness/n8n';

/** A path secret as the Pretix Trigger demands one: 32 random URL-safe characters. */
export const WEBHOOK_SECRET = 'Qm7vT2xK9pR4wZ8nL3cJ6hB1fD5sG0yA';
export const WEBHOOK_WORKFLOW = 'pretixMatrixWebhookInvite';

type TemplateNode = { name: string; type: string; webhookId?: string; disabled?: boolean; parameters: Record<string, unknown> };

/**
 * The templates, filled in: the organizers' room, the webhook secret; execution data kept for
 * successful runs too, so tests can see what each run did (`keepExecutions`, default true).
 *
 * Their schedule triggers (the webhook template's half-hourly re-read, the purge's 03:00) are
 * switched off: they fire by the wall clock, and a test must not depend on
 * the time of day it runs. A CI run's privacy audit once met the re-read at hh:00:58, between
 * `!forget` and the scan: it read the forgotten person's still valid ticket from pretix again, as
 * it should. A test of a schedule turns it on with its own interval through n8n's API, as the
 * daily-purge test does.
 */
export function loadTemplates(services: DemoServices, options: { only?: string[]; keepExecutions?: boolean; /** null: leave the shipped (empty) path secret */ webhookSecret?: string | null } = {}): WorkflowImport[] {
	const dir = path.join(REPO_ROOT, 'workflows');
	return readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8').replaceAll('!organizers-room:example.org', services.organizersRoom)) as WorkflowImport)
		.filter((workflow) => !options.only || options.only.includes(workflow.id))
		.map((workflow) => {
			if (options.webhookSecret !== null) setPathSecrets(workflow, options.webhookSecret ?? WEBHOOK_SECRET);
			if (options.keepExecutions !== false) workflow.settings = { ...(workflow.settings as object), saveDataSuccessExecution: 'all' };
			for (const node of workflow.nodes as TemplateNode[]) if (node.type === 'n8n-nodes-base.scheduleTrigger') node.disabled = true;
			return workflow;
		});
}

export function webhookPath(templates: WorkflowImport[]): string {
	const workflow = templates.find((w) => w.id === WEBHOOK_WORKFLOW)!;
	const trigger = (workflow.nodes as TemplateNode[]).find((n) => n.type.endsWith('.pretixTrigger'))!;
	return `${trigger.webhookId}/pretix/${WEBHOOK_SECRET}`;
}

/** The executions of the webhook template started by one pretix notification, once finished. */
export async function waitForNotification(n8n: N8nInstance, notificationId: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const all = await n8n.executions(WEBHOOK_WORKFLOW, true);
		const runs = all.filter((e) => runData(e, 'pretix webhook').some((item) => item.notificationId === notificationId) && (e.finished || e.status === 'success' || e.status === 'error'));
		if (runs.length) return runs;
		await delay(300);
	}
	throw new Error(`No finished execution for pretix notification ${notificationId}:\n${n8n.logs().slice(-3000)}`);
}

/** Messages the bot posted in a room, oldest first. */
export function botMessages(services: DemoServices, roomId: string): string[] {
	return services.homeserver
		.timeline(roomId, 'm.room.message')
		.filter((e) => e.sender === services.botUserId)
		.map((e) => String((e.content as { body?: unknown }).body ?? ''));
}

/** Types a command as the organizer and waits for the bot's replies in that room. */
export async function command(services: DemoServices, n8n: N8nInstance, roomId: string, text: string, expectReplies = 1, timeoutMs = 120_000): Promise<string[]> {
	const before = botMessages(services, roomId).length;
	services.homeserver.say(services.organizer.userId, roomId, text);
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const replies = botMessages(services, roomId).slice(before);
		if (replies.length >= expectReplies) {
			await delay(1500); // a further reply would be a double reply: give it time to show up
			return botMessages(services, roomId).slice(before);
		}
		await delay(200);
	}
	throw new Error(`No reply to "${text.split(' ')[0]}" within ${timeoutMs} ms:\n${n8n.logs().slice(-3000)}`);
}

/** Fills the template's n8n API credential with this instance's key, as an organizer would in Settings → n8n API. */
export async function connectN8nApi(n8n: N8nInstance): Promise<void> {
	await n8n.rest('PATCH', '/rest/credentials/n8nApiCredential', { name: 'n8n API', type: 'n8nApi', data: { apiKey: n8n.apiKey, baseUrl: `${n8n.baseUrl}/api/v1` } });
}

/** `!batchinvite` as the organizer: waits for the summary (a big batch first announces its ETA). */
export async function batchInvite(services: DemoServices, n8n: N8nInstance, roomId: string, args = '', timeoutMs = 300_000): Promise<string[]> {
	const before = botMessages(services, roomId).length;
	services.homeserver.say(services.organizer.userId, roomId, `!batchinvite${args ? ' ' + args : ''}`);
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const replies = botMessages(services, roomId).slice(before);
		if (replies.some((m) => /^(Batch invite finished|No pretix event|That event is not mapped|I could not read)/.test(m))) {
			await delay(1500);
			return botMessages(services, roomId).slice(before);
		}
		await delay(300);
	}
	throw new Error(`No summary for !batchinvite within ${timeoutMs} ms:\n${n8n.logs().slice(-3000)}`);
}
