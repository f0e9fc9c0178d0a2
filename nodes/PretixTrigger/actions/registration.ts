import { NodeApiError, NodeOperationError, type IHookFunctions, type JsonObject } from 'n8n-workflow';

import { assertSlug, DEFAULT_TRIGGER_ACTIONS, PretixApiError, pretixClientFor, type PretixClient } from '../../../lib/pretix';
import { callerAuthProblem, withBasicAuth } from './caller-auth';

/**
 * Optional registration of the webhook in pretix (organizer → webhooks API). Needs a team token
 * whose team may change organizer settings, or OAuth with the "read write" scope.
 */
function registering(context: IHookFunctions): boolean {
	return context.getNodeParameter('registerWebhook', false) === true;
}

function targetUrl(context: IHookFunctions): string {
	const url = context.getNodeWebhookUrl('default');
	if (!url) throw new NodeOperationError(context.getNode(), 'n8n did not provide a webhook URL for this trigger.');
	const mode = context.getNodeParameter('callerAuth', 'none') as string;
	if (mode === 'basicAuth' || mode === 'pathSecretAndBasicAuth') {
		return withBasicAuth(url, String(context.getNodeParameter('basicAuthUser', '')), String(context.getNodeParameter('basicAuthPassword', '')));
	}
	return url;
}

function organizerOf(context: IHookFunctions): string {
	try {
		return assertSlug(context.getNodeParameter('registerOrganizer', ''), 'organizer');
	} catch (error) {
		throw new NodeOperationError(context.getNode(), (error as Error).message);
	}
}

async function clientOf(context: IHookFunctions): Promise<PretixClient> {
	return await pretixClientFor(context, context.getNodeParameter('authentication', 'pretixOAuth2Api'));
}

function nodeError(context: IHookFunctions, error: unknown): Error {
	if (error instanceof PretixApiError) {
		const safe: JsonObject = { kind: error.kind, message: error.message };
		return new NodeApiError(context.getNode(), safe, { message: error.message, description: error.hint, httpCode: error.status === undefined ? undefined : String(error.status) });
	}
	return error as Error;
}

/**
 * Refuses activation (publishing, and "listen for test event") while the caller authentication is
 * unusable: n8n runs checkExists for every webhook before it registers the workflow and drops the
 * webhook again when it throws (n8n ActiveWorkflowManager.addWebhooks, WebhookService
 * createWebhookIfNotExists), so the URL never answers with a weak secret.
 */
function assertUsableCallerAuth(context: IHookFunctions): void {
	const problem = callerAuthProblem((name) => context.getNodeParameter(name, ''));
	if (problem) throw new NodeOperationError(context.getNode(), `Pretix Trigger cannot be activated: ${problem}`, { description: 'Set the Path Secret (or the Basic Auth Password) in the trigger, then publish again.' });
}

export async function checkExists(this: IHookFunctions): Promise<boolean> {
	assertUsableCallerAuth(this);
	if (!registering(this)) return true;
	const data = this.getWorkflowStaticData('node');
	try {
		const client = await clientOf(this);
		const target = targetUrl(this);
		const hooks = await client.webhooks(organizerOf(this));
		const found = hooks.find((hook) => hook.enabled && hook.target_url === target);
		if (!found) return false;
		data.webhookId = found.id;
		return true;
	} catch (error) {
		throw nodeError(this, error);
	}
}

export async function create(this: IHookFunctions): Promise<boolean> {
	assertUsableCallerAuth(this);
	if (!registering(this)) return true;
	const data = this.getWorkflowStaticData('node');
	const actions = this.getNodeParameter('actions', DEFAULT_TRIGGER_ACTIONS) as string[];
	const events = String(this.getNodeParameter('eventFilter', '') ?? '')
		.split(/[\s,]+/)
		.filter(Boolean);
	try {
		for (const event of events) assertSlug(event, 'event');
		const client = await clientOf(this);
		const created = await client.createWebhook(organizerOf(this), {
			enabled: true,
			target_url: targetUrl(this),
			all_events: events.length === 0,
			limit_events: events,
			action_types: actions,
			comment: `n8n: ${this.getWorkflow().name ?? 'workflow'}`.slice(0, 200),
		});
		data.webhookId = created.id;
		return true;
	} catch (error) {
		if (error instanceof PretixApiError && error.kind === 'invalid_input') throw new NodeOperationError(this.getNode(), error.message);
		throw nodeError(this, error);
	}
}

export async function remove(this: IHookFunctions): Promise<boolean> {
	if (!registering(this)) return true;
	const data = this.getWorkflowStaticData('node');
	if (typeof data.webhookId !== 'number') return true;
	try {
		const client = await clientOf(this);
		await client.deleteWebhook(organizerOf(this), data.webhookId);
	} catch {
		// Deactivation must not fail on a pretix hiccup; the webhook can be removed in pretix by hand.
		return false;
	}
	delete data.webhookId;
	return true;
}
