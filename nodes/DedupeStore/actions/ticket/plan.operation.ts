import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import {
	DEFAULT_LEASE_SECONDS,
	planTickets,
	type Ledger,
	type TicketInput,
	type TicketStep,
} from '../../../../lib/store';
import { itemParameter } from '../../../../lib/item-expressions';
import { errorItem, show, toNodeError } from '../common';

const ops = ['plan'];

function field(displayName: string, name: string, value: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', default: value, description, displayOptions: show('ticket', ops) };
}

/**
 * Every field defaults to the attendee items the Pretix nodes emit (after MXID Validate), so the
 * node works as dropped in; each can be an expression for other data.
 */
export const description: INodeProperties[] = [
	field('Event', 'event', '={{ $json.organizer }}/{{ $json.event }}', 'Ledger event key: organizer/event'),
	field('Ticket', 'ticket', '={{ $json.positionId }}', 'The pretix position ID (one ticket)'),
	field('Order Code', 'orderCode', '={{ $json.orderCode }}', 'Stored as a keyed hash, so the order can be looked up or forgotten'),
	field('Access', 'access', '={{ $json.access }}', 'Whether the ticket grants access now: granted, pending or revoked (set by the Pretix nodes)'),
	field('Access Reason', 'accessReason', '={{ $json.accessReason }}', 'Why (e.g. orderCanceled); shown in the plan'),
	field('Matrix ID', 'matrixId', "={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", 'The valid, normalised Matrix ID (empty when the answer is missing or unusable)'),
	field('Invalid Reason', 'invalidReason', "={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", 'Why the Matrix ID cannot be used (MXID Validate reason code)'),
	field('Answer', 'answer', "={{ $json.matrixId ?? '' }}", 'The raw answer: an unusable one is reported once per ticket and answer'),
	field('Item ID', 'item', '={{ $json.itemId }}', 'For the room mappings: the ticket product'),
	field('Variation ID', 'variation', '={{ $json.variationId }}', 'For the room mappings: the product variation'),
	field('Date ID', 'subevent', '={{ $json.subeventId }}', 'For the room mappings: the date of an event series (pretix sub-event)'),
	field('Add-On Of', 'addonTo', '={{ $json.addonTo }}', 'For the room mappings: the parent position of an add-on'),
	{
		displayName: 'Options',
		name: 'planOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('ticket', ops),
		options: [
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description:
					'Whether to only predict the steps (claim and change nothing), e.g. to tell how long a big batch will take before it starts. Every step then leaves on the first output, its action in the plan field.',
			},
			{
				displayName: 'Invite Again Who Left',
				name: 'reinviteLeft',
				type: 'boolean',
				default: false,
				description:
					'Whether to check the membership of tickets already invited and invite again people who left or declined',
			},
			{
				displayName: 'Invite Even If Handled',
				name: 'force',
				type: 'boolean',
				default: false,
				description:
					'Whether to invite again tickets the ledger marks as invited, withdrawn or failed (e.g. someone removed by mistake)',
			},
			{
				displayName: 'Lease (Seconds)',
				name: 'leaseSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_LEASE_SECONDS,
				description: 'If the workflow dies before Record, planned steps may be taken up by a later run after this long',
			},
			{
				displayName: 'Plan Field',
				name: 'planField',
				type: 'string',
				default: 'plan',
				description: 'Field of the output item that receives the planned step',
			},
			{
				displayName: 'Remove Old ID When Joined',
				name: 'removeChangedMember',
				type: 'boolean',
				default: false,
				description:
					'Whether a changed (or unusable) answer also removes the old Matrix ID from the room when it already joined; otherwise only its pending invite is withdrawn',
			},
			{
				displayName: 'Report Unusable IDs',
				name: 'reportInvalid',
				type: 'boolean',
				default: true,
				description: 'Whether tickets with access and an unusable Matrix ID go to the Report output, once per ticket and answer',
			},
		],
	},
];

const OUTPUT = { invite: 0, withdraw: 1, report: 2, skip: 3 } as const;

/**
 * One call for all items: rooms are resolved from the mappings (each event's once), grants read in
 * one query, claims taken in one batch. An item leaves once per step (one per room), on the output
 * of its action; items whose fields are unusable fail the node, or with "Continue On Fail" leave on
 * Unchanged with an error.
 */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = [[], [], [], []];
	const options = this.getNodeParameter('planOptions', 0, {}) as IDataObject;
	const planField = String(options.planField ?? '').trim() || 'plan';
	const resolve = await ledger.roomResolver();
	const inputs: Array<{ index: number; input: TicketInput }> = [];
	for (let i = 0; i < items.length; i++) {
		try {
			// Twelve per-item expressions: the defaults' simple shapes are computed without n8n's engine.
			const param = (name: string) => itemParameter(this, name, i, '');
			const event = param('event');
			const access = param('access');
			inputs.push({
				index: i,
				input: {
					event,
					ticket: param('ticket'),
					orderCode: param('orderCode'),
					access,
					accessReason: param('accessReason'),
					userId: param('matrixId'),
					invalidReason: param('invalidReason'),
					answer: param('answer'),
					// Rooms matter only for tickets that may be invited.
					rooms: access === 'granted' ? await resolve({ event, item: param('item'), variation: param('variation'), subevent: param('subevent'), addonTo: param('addonTo') }) : [],
				},
			});
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this, error, i);
			outputs[OUTPUT.skip].push(errorItem(this, error, i));
		}
	}
	if (inputs.length === 0) return outputs;
	let steps: TicketStep[][];
	try {
		steps = await planTickets(
			ledger,
			inputs.map((x) => x.input),
			{
				leaseSeconds: Number(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS),
				removeChangedMember: options.removeChangedMember === true,
				reinviteLeft: options.reinviteLeft === true,
				force: options.force === true,
				reportInvalid: options.reportInvalid !== false,
				dryRun: options.dryRun === true,
			},
		);
	} catch (error) {
		const index = (error as { index?: number }).index;
		const itemIndex = index === undefined ? undefined : inputs[index]?.index;
		throw toNodeError(this, error, itemIndex);
	}
	steps.forEach((itemSteps, n) => {
		const index = inputs[n].index;
		for (const step of itemSteps) {
			outputs[options.dryRun === true ? 0 : OUTPUT[step.action]].push({ json: { ...items[index].json, [planField]: step as unknown as IDataObject }, pairedItem: { item: index } });
		}
	});
	return outputs;
}
