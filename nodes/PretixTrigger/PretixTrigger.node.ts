import type { IHookFunctions, INodeType, INodeTypeDescription, IWebhookDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { fromFunction, NodeConnectionTypes, webhookDescriptionFields } from 'n8n-workflow';

import { ORDER_ACTIONS } from '../../lib/pretix';
import { attendeeOptionsCollection, authenticationProperty } from '../PretixOrders/actions/common';
import { receive } from './actions/receive';
import { checkExists, create, remove } from './actions/registration';

const EXTRA_ACTIONS = ['pretix.event.changed', 'pretix.event.added', 'pretix.event.deleted'];

/**
 * The webhook's path: `pretix/<secret>` when a path secret guards it, else `pretix`. It must stay
 * self-contained (no outer names): the editor evaluates its source as the path's expression.
 */
export const webhookPathOf = (p: { callerAuth?: unknown; pathSecret?: unknown }) =>
	['pathSecret', 'pathSecretAndBasicAuth'].includes(p.callerAuth as string) && p.pathSecret ? 'pretix/' + String(p.pathSecret) : 'pretix';

/**
 * n8n ≥ 2.40 resolves a field declared with `fromFunction` from the node's parameters itself when
 * they hold no expression; otherwise it evaluates the template in an expression isolate on every
 * webhook (6 % of a webhook's CPU in a burst, test/bench/README.md). Older n8n has neither
 * helper and gets the same template as a plain expression.
 */
export const webhookPathField: Pick<IWebhookDescription, 'path'> =
	typeof fromFunction === 'function' && typeof webhookDescriptionFields === 'function'
		? webhookDescriptionFields({ path: fromFunction(webhookPathOf) })
		: { path: `={{(${String(webhookPathOf)})($parameter)}}` };

export class PretixTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Pretix Trigger',
		name: 'pretixTrigger',
		icon: { light: 'file:pretixTrigger.svg', dark: 'file:pretixTrigger.dark.svg' },
		group: ['trigger'],
		// 1.1 behaves as 1. n8n treats a webhook node's version 1 as its own Webhook node's first
		// version and evaluates `$parameter.options.binaryData` in an expression isolate on every
		// request (webhook-helpers.ts parseRequestBody): 6 % of a webhook's CPU in a burst.
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle: '={{$parameter["resolveOrder"] ? "attendees of changed orders" : "order notifications"}}',
		description: 'Starts the workflow when pretix sends a webhook (orders placed, paid, changed, canceled, …)',
		defaults: {
			name: 'Pretix Trigger',
		},
		inputs: [],
		// The lint rule predates NodeConnectionTypes (whose Main is 'main').
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'pretixOAuth2Api',
				required: true,
				displayOptions: { show: { authentication: ['pretixOAuth2Api'] } },
			},
			{
				name: 'pretixApi',
				required: true,
				displayOptions: { show: { authentication: ['pretixApi'] } },
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				...webhookPathField,
			},
		],
		properties: [
			{
				displayName:
					'Give pretix the production URL of this trigger (Organizer → Webhooks), or switch on "Register Webhook in Pretix". pretix does not sign webhooks: protect the URL with a path secret and/or Basic auth (https://user:password@host/… in pretix).',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			authenticationProperty,
			{
				displayName: 'Actions',
				name: 'actions',
				type: 'multiOptions',
				options: [...ORDER_ACTIONS, ...EXTRA_ACTIONS].map((action) => ({ name: action.replace(/^pretix\.event\./, ''), value: action })),
				// Same as DEFAULT_TRIGGER_ACTIONS (a literal, as n8n's lint wants).
				default: [
					'pretix.event.order.placed',
					'pretix.event.order.paid',
					'pretix.event.order.approved',
					'pretix.event.order.modified',
					'pretix.event.order.changed.*',
					'pretix.event.order.canceled',
					'pretix.event.order.expired',
					'pretix.event.order.reactivated',
				],
				description: 'Which pretix actions start the workflow. "order.changed.*" covers every concrete change (cancel, add, item, …).',
			},
			{
				displayName: 'Organizer Filter',
				name: 'organizerFilter',
				type: 'string',
				default: '',
				placeholder: 'myorg',
				description: 'Only notifications of these organizers (comma-separated slugs; empty = all)',
			},
			{
				displayName: 'Event Filter',
				name: 'eventFilter',
				type: 'string',
				default: '',
				placeholder: 'summit26, meetups26',
				description: 'Only notifications of these events (comma-separated slugs; empty = all)',
			},
			{
				displayName: 'Caller Authentication',
				name: 'callerAuth',
				type: 'options',
				options: [
					{
						name: 'None (Rely on the Unguessable Webhook URL)',
						value: 'none',
					},
					{
						name: 'Secret in URL Path',
						value: 'pathSecret',
					},
					{
						name: 'Basic Auth in URL',
						value: 'basicAuth',
					},
					{
						name: 'Path Secret and Basic Auth',
						value: 'pathSecretAndBasicAuth',
					},
				],
				default: 'none',
			},
			{
				displayName: 'Path Secret',
				name: 'pathSecret',
				type: 'string',
				typeOptions: { password: true },
				displayOptions: { show: { callerAuth: ['pathSecret', 'pathSecretAndBasicAuth'] } },
				default: '',
				required: true,
				description:
					'Random string of at least 22 letters, digits, "-" or "_": the last segment of the webhook URL. Generate one with <code>openssl rand -base64 24 | tr -d \'/+=\'</code> or <code>node -e "console.log(require(\'crypto\').randomBytes(18).toString(\'base64url\'))"</code>. The workflow cannot be published while it is empty, a placeholder or too regular.',
			},
			{
				displayName: 'Basic Auth User',
				name: 'basicAuthUser',
				type: 'string',
				displayOptions: { show: { callerAuth: ['basicAuth', 'pathSecretAndBasicAuth'] } },
				default: '',
				required: true,
			},
			{
				displayName: 'Basic Auth Password',
				name: 'basicAuthPassword',
				type: 'string',
				typeOptions: { password: true },
				displayOptions: { show: { callerAuth: ['basicAuth', 'pathSecretAndBasicAuth'] } },
				default: '',
				required: true,
				description: 'Must not be empty (the workflow cannot be published without it); use a random one',
			},
			{
				displayName: 'Resolve Order',
				name: 'resolveOrder',
				type: 'boolean',
				default: true,
				description:
					'Whether to read the order from pretix and emit its active attendees (like Pretix Orders). A forged notification can then at most cause a read of a real order.',
			},
			attendeeOptionsCollection({ resolveOrder: [true] }),
			{
				displayName: 'Register Webhook in Pretix',
				name: 'registerWebhook',
				type: 'boolean',
				default: false,
				description: 'Whether to create the webhook in pretix when the workflow is activated and disable it on deactivation (needs write access)',
			},
			{
				displayName: 'Organizer Slug',
				name: 'registerOrganizer',
				type: 'string',
				displayOptions: { show: { registerWebhook: [true] } },
				default: '',
				required: true,
				description: 'The organizer whose webhook settings get this webhook',
			},
		],
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return await checkExists.call(this);
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return await create.call(this);
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return await remove.call(this);
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receive.call(this);
	}
}
