import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import {
	actionMatches,
	DEFAULT_TRIGGER_ACTIONS,
	extractAttendees,
	MAX_WEBHOOK_BODY_BYTES,
	parseAttendeeOptions,
	parseWebhookBody,
	PretixApiError,
	pretixClientFor,
	validateWebhookPayload,
	type PretixWebhookPayload,
	type WebhookValidation,
} from '../../../lib/pretix';
import { basicCredentials, callerAuthProblem, lastPathSegment, safeEqual } from './caller-auth';

/** Remembered notification ids per node (oldest dropped first). */
export const MAX_SEEN_NOTIFICATIONS = 5000;

interface Reply {
	status: number;
	body: IDataObject;
	headers?: Record<string, string>;
}

function reply(context: IWebhookFunctions, answer: Reply, workflowData?: INodeExecutionData[][]): IWebhookResponseData {
	const res = context.getResponseObject();
	for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
	res.status(answer.status).json(answer.body);
	return workflowData ? { noWebhookResponse: true, workflowData } : { noWebhookResponse: true };
}

function authenticate(context: IWebhookFunctions): Reply | undefined {
	// A weak secret never lets a call through, even if activation was somehow not refused. The
	// caller only learns that the trigger is unusable, not why (the activation error says why).
	if (callerAuthProblem((name) => context.getNodeParameter(name, ''))) return { status: 500, body: { error: 'Pretix Trigger is misconfigured: its caller authentication is not usable; fix the trigger in n8n.' } };
	const mode = context.getNodeParameter('callerAuth', 'none') as string;
	const request = context.getRequestObject();
	if (mode === 'pathSecret' || mode === 'pathSecretAndBasicAuth') {
		const secret = String(context.getNodeParameter('pathSecret', '') ?? '');
		const given = lastPathSegment((request as { originalUrl?: string }).originalUrl ?? request.url);
		// 404, never 410: pretix disables a webhook that answers 410.
		if (!safeEqual(given, secret)) return { status: 404, body: { error: 'Unknown webhook.' } };
	}
	if (mode === 'basicAuth' || mode === 'pathSecretAndBasicAuth') {
		const user = String(context.getNodeParameter('basicAuthUser', '') ?? '');
		const password = String(context.getNodeParameter('basicAuthPassword', '') ?? '');
		const given = basicCredentials(context.getHeaderData().authorization);
		const ok = !!given && safeEqual(given.user, user) && safeEqual(given.password, password);
		if (!ok) return { status: 401, body: { error: 'Authentication required: put user:password@ of this trigger into the webhook URL in pretix.' }, headers: { 'WWW-Authenticate': 'Basic realm="pretix webhook"' } };
	}
	return undefined;
}

function readPayload(context: IWebhookFunctions): WebhookValidation & { tooLarge?: boolean } {
	const request = context.getRequestObject() as { rawBody?: Buffer | string };
	const raw = request.rawBody;
	if (raw !== undefined && (typeof raw === 'string' || Buffer.isBuffer(raw)) && raw.length > 0) {
		const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
		if (size > MAX_WEBHOOK_BODY_BYTES) return { ok: false, reason: `The body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes; pretix never sends that much.`, tooLarge: true };
		return parseWebhookBody(raw);
	}
	return validateWebhookPayload(context.getBodyData());
}

function csv(value: unknown): string[] {
	return String(value ?? '')
		.split(/[\s,]+/)
		.map((s) => s.trim())
		.filter(Boolean);
}

/** Why a valid notification is not for this trigger, or undefined when it is. */
function notSelected(context: IWebhookFunctions, payload: PretixWebhookPayload): string | undefined {
	const actions = context.getNodeParameter('actions', DEFAULT_TRIGGER_ACTIONS) as string[];
	if (!Array.isArray(actions) || !actionMatches(actions, payload.action)) return 'action not selected';
	const organizers = csv(context.getNodeParameter('organizerFilter', ''));
	if (organizers.length && !organizers.some((o) => o.toLowerCase() === payload.organizer.toLowerCase())) return 'organizer not selected';
	const events = csv(context.getNodeParameter('eventFilter', ''));
	if (events.length && (payload.event === undefined || !events.some((e) => e.toLowerCase() === payload.event!.toLowerCase()))) return 'event not selected';
	return undefined;
}

function seenList(context: IWebhookFunctions): number[] {
	const data = context.getWorkflowStaticData('node');
	if (!Array.isArray(data.seenNotifications)) data.seenNotifications = [];
	return data.seenNotifications as number[];
}

/**
 * n8n loads static data per request and saves it after the answer (when it saves it at all), so two
 * deliveries of one notification that overlap or follow each other could both pass the static-data
 * check. This process-wide memory closes that gap for a single n8n main process; across processes
 * and restarts the Dedupe Store downstream is what keeps invites exactly-once.
 */
const inFlight = new Set<string>();
const recentlyDone = new Map<string, number>();
const RECENT_TTL_MS = 10 * 60_000;
const MAX_RECENT = 20_000;

function memoryKey(context: IWebhookFunctions, id: number): string {
	// Real n8n 2.40 does not persist static data written by webhook() (checked in the e2e suite), so
	// the memory is keyed by what identifies this trigger in this process: workflow and node ids.
	return `${context.getWorkflow().id ?? ''}:${context.getNode().id}:${id}`;
}

function doneRecently(key: string): boolean {
	const until = recentlyDone.get(key);
	if (until === undefined) return false;
	if (until > Date.now()) return true;
	recentlyDone.delete(key);
	return false;
}

function remember(context: IWebhookFunctions, id: number, key: string): void {
	const list = seenList(context);
	list.push(id);
	if (list.length > MAX_SEEN_NOTIFICATIONS) list.splice(0, list.length - MAX_SEEN_NOTIFICATIONS);
	context.getWorkflowStaticData('node').seenNotifications = list;
	recentlyDone.delete(key);
	recentlyDone.set(key, Date.now() + RECENT_TTL_MS);
	// Oldest first (Map keeps insertion order).
	for (const old of recentlyDone.keys()) {
		if (recentlyDone.size <= MAX_RECENT) break;
		recentlyDone.delete(old);
	}
}

/**
 * One pretix notification: authenticate the caller, validate, filter, de-duplicate, optionally
 * re-read the order, then answer. 4xx only for unauthenticated or malformed calls; never 410.
 * When the order cannot be read, answer 503 so pretix retries later and nothing is lost.
 */
export async function receive(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const denied = authenticate(this);
	if (denied) return reply(this, denied);
	const parsed = readPayload(this);
	if (!parsed.ok) return reply(this, { status: parsed.tooLarge ? 413 : 400, body: { error: parsed.reason } });
	const payload = parsed.payload;
	const skip = notSelected(this, payload);
	if (skip) return reply(this, { status: 200, body: { received: true, ignored: skip } });
	const key = memoryKey(this, payload.notification_id);
	if (seenList(this).includes(payload.notification_id) || doneRecently(key)) return reply(this, { status: 200, body: { received: true, duplicate: true } });
	// The same notification is being handled right now: let pretix retry rather than risk a double run or a loss.
	if (inFlight.has(key)) return reply(this, { status: 503, body: { error: 'This notification is being processed already; pretix will retry it.' }, headers: { 'Retry-After': '30' } });
	inFlight.add(key);
	try {
		return await handle(this, payload, key);
	} finally {
		inFlight.delete(key);
	}
}

async function handle(context: IWebhookFunctions, payload: PretixWebhookPayload, key: string): Promise<IWebhookResponseData> {
	const base: IDataObject = {
		notificationId: payload.notification_id,
		action: payload.action,
		organizer: payload.organizer,
		event: payload.event ?? null,
		orderCode: payload.code ?? null,
	};
	const resolve = context.getNodeParameter('resolveOrder', false) as boolean;
	if (!resolve || payload.code === undefined || payload.event === undefined) {
		remember(context, payload.notification_id, key);
		const json: IDataObject = { ...base };
		for (const [field, value] of Object.entries(payload)) if (!['notification_id', 'action', 'organizer', 'event', 'code'].includes(field)) json[field] = value as IDataObject[keyof IDataObject];
		return reply(context, { status: 200, body: { received: true } }, [[{ json }]]);
	}

	let attendees: ReturnType<typeof extractAttendees>['attendees'];
	try {
		const options = parseAttendeeOptions(context.getNodeParameter('attendeeOptions', {}) as IDataObject);
		// Bounded so the answer reaches pretix well inside its 30 s timeout.
		const client = await pretixClientFor(context, context.getNodeParameter('authentication', 'pretixOAuth2Api'), { maxThrottleRetries: 1, maxFailureRetries: 1, maxRetryAfterMs: 5000, timeoutMs: 10_000 });
		const order = await client.order(payload.organizer, payload.event, payload.code);
		attendees = extractAttendees(order, { organizer: payload.organizer, event: payload.event }, options).attendees;
	} catch (error) {
		if (error instanceof PretixApiError && error.kind === 'not_found') {
			// Deleted (test-mode) orders are gone for good: nothing to emit, nothing to retry.
			remember(context, payload.notification_id, key);
			return reply(context, { status: 200, body: { received: true, attendees: 0, order: 'not found' } });
		}
		const message = error instanceof PretixApiError ? error.message : 'The order could not be read from pretix.';
		if (error instanceof PretixApiError && error.kind === 'invalid_input') {
			return reply(context, { status: 500, body: { error: `Pretix Trigger is misconfigured: ${message}` } });
		}
		return reply(context, { status: 503, body: { error: `${message} pretix will retry this notification.` }, headers: { 'Retry-After': '60' } });
	}
	remember(context, payload.notification_id, key);
	if (attendees.length === 0) return reply(context, { status: 200, body: { received: true, attendees: 0 } });
	const items = attendees.map((attendee) => ({ json: { ...(attendee as unknown as IDataObject), notificationId: payload.notification_id, action: payload.action } }));
	return reply(context, { status: 200, body: { received: true, attendees: attendees.length } }, [items]);
}
