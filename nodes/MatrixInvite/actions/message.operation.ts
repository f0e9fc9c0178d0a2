import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { MatrixClient } from '../../../lib/matrix/client';
import { sendNotice, txnIdFor } from '../../../lib/matrix/messages';
import type { RoomProblem } from '../../../lib/matrix/rooms';
import { optionNumber, resultFieldOption, runError } from './common';

const show = { show: { operation: ['message'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Room',
		name: 'room',
		type: 'string',
		default: '={{ $json.roomId }}',
		required: true,
		placeholder: '#orga:example.org',
		description:
			"Room ID, alias or matrix.to / matrix: room link to post to (the trigger's roomId when answering a command)",
		displayOptions: show,
	},
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		required: true,
		description: 'Plain text of the notice (also the fallback when HTML is given)',
		displayOptions: show,
	},
	{
		displayName: 'One Message for All Items',
		name: 'combine',
		type: 'boolean',
		default: false,
		description:
			"Whether to post one message whose lines are the items' texts (under a heading) instead of one message per item; every item gets the result. Long lists are split into several messages.",
		displayOptions: show,
	},
	{
		displayName: 'Heading',
		name: 'heading',
		type: 'string',
		default: '',
		placeholder: '={{ $input.all().length }} tickets need attention:',
		description: 'First line of the combined message (evaluated for the first item)',
		displayOptions: { show: { operation: ['message'], combine: [true] } },
	},
	{
		displayName: 'Options',
		name: 'messageOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'HTML',
				name: 'html',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description: 'Formatted version of the message (org.matrix.custom.html)',
			},
			{
				displayName: 'Idempotency Key',
				name: 'idempotencyKey',
				type: 'string',
				default: '',
				description:
					'Identifies the logical message; the same key never posts twice. Default: this execution, node and item.',
			},
			{
				displayName: 'Message Type',
				name: 'msgtype',
				type: 'options',
				options: [
					{ name: 'Notice (Bot Output)', value: 'm.notice' },
					{ name: 'Text', value: 'm.text' },
				],
				default: 'm.notice',
			},
			{
				displayName: 'Reply To Event ID',
				name: 'replyTo',
				type: 'string',
				default: '',
				placeholder: '={{ $json.eventId }}',
				description:
					'Event to answer, e.g. the command event from the Matrix Command Trigger. A reply to a message in a thread is posted in that thread.',
			},
			resultFieldOption,
			{
				displayName: 'Time Budget (Seconds)',
				name: 'budgetSeconds',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 3600 },
				default: 120,
				description: 'How long to keep retrying rate limits and server errors',
			},
		],
	},
];

/** Room, heading and text per item go into messages of at most this many bytes of text. */
const COMBINED_TEXT_BYTES = 30_000;

/**
 * "One Message for All Items": the items' texts become the lines of one notice (several when
 * long) to the first item's room; each item gets the result of the message its line went into.
 */
async function executeCombined(this: IExecuteFunctions, client: MatrixClient, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const options = this.getNodeParameter('messageOptions', 0, {}) as IDataObject;
	const room = String(this.getNodeParameter('room', 0, '') ?? '').trim();
	if (!room) throw new NodeOperationError(this.getNode(), 'Name the room to post to', { itemIndex: 0 });
	const heading = String(this.getNodeParameter('heading', 0, '') ?? '').trim();
	const lines = items.map((_item, i) => String(this.getNodeParameter('text', i, '') ?? '').replace(/\s+/g, ' ').trim());
	// Lines are grouped into chunks that fit one message each.
	const chunks: number[][] = [[]];
	let size = Buffer.byteLength(heading, 'utf8');
	lines.forEach((line, i) => {
		const bytes = Buffer.byteLength(line, 'utf8') + 1;
		if (chunks[chunks.length - 1].length && size + bytes > COMBINED_TEXT_BYTES) {
			chunks.push([]);
			size = Buffer.byteLength(heading, 'utf8');
		}
		chunks[chunks.length - 1].push(i);
		size += bytes;
	});
	const resultField = String(options.resultField ?? '').trim() || 'matrix';
	const results: IDataObject[] = new Array(items.length);
	const roomCache = new Map<string, { roomId?: string; problem?: RoomProblem }>();
	const threadCache = new Map<string, string | null>();
	// Encrypted rooms get encrypted messages or none (lib/matrix/crypto.ts).
	const encryptionCache = new Map<string, boolean>();
	for (const [n, chunk] of chunks.entries()) {
		if (!chunk.length) continue;
		const part = chunks.length > 1 ? ` (${n + 1}/${chunks.length})` : '';
		const text = [heading ? heading + part : part.trim(), ...chunk.map((i) => lines[i])].filter(Boolean).join('\n');
		const key = String(options.idempotencyKey ?? '').trim();
		const txnId = key ? txnIdFor('key', key, n) : txnIdFor(this.getExecutionId() ?? 'manual', this.getNode().name, 'combined', n);
		const sent = await sendNotice(
			client,
			{ room, text, msgtype: options.msgtype === 'm.text' ? 'm.text' : 'm.notice', replyTo: String(options.replyTo ?? '').trim() || undefined },
			{ txnId, budgetMs: optionNumber(options, 'budgetSeconds', 120, 1, 3600) * 1000, roomCache, threadCache, encryptionCache },
		);
		const result: IDataObject =
			sent.status === 'sent'
				? { operation: 'message', status: 'sent', roomId: sent.roomId, eventId: sent.eventId, txnId: sent.txnId }
				: { operation: 'message', status: sent.status, reason: sent.reason, roomId: sent.roomId ?? null, txnId: sent.txnId };
		for (const i of chunk) results[i] = result;
	}
	return items.map((item, i) => ({ json: { ...item.json, [resultField]: results[i] }, pairedItem: { item: i } }));
}

export async function execute(
	this: IExecuteFunctions,
	client: MatrixClient,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	if (items.length && this.getNodeParameter('combine', 0, false) === true) {
		try {
			return await executeCombined.call(this, client, items);
		} catch (error) {
			const nodeError = runError(this, error);
			if (!this.continueOnFail()) throw nodeError;
			return items.map((item, i) => ({ json: { ...item.json, error: nodeError.message }, pairedItem: { item: i } }));
		}
	}
	const out: INodeExecutionData[] = [];
	const roomCache = new Map<string, { roomId?: string; problem?: RoomProblem }>();
	const threadCache = new Map<string, string | null>();
	// Encrypted rooms get encrypted messages or none (lib/matrix/crypto.ts).
	const encryptionCache = new Map<string, boolean>();
	for (let i = 0; i < items.length; i++) {
		try {
			const options = this.getNodeParameter('messageOptions', i, {}) as IDataObject;
			const room = String(this.getNodeParameter('room', i, '') ?? '').trim();
			const text = String(this.getNodeParameter('text', i, '') ?? '');
			const html = String(options.html ?? '');
			if (!room)
				throw new NodeOperationError(this.getNode(), 'Name the room to post to', { itemIndex: i });
			if (!text.trim() && !html.trim())
				throw new NodeOperationError(this.getNode(), 'The message is empty', { itemIndex: i });
			const key = String(options.idempotencyKey ?? '').trim();
			// Same execution, node and item → same transaction id, so a retried request cannot post twice.
			const txnId = key
				? txnIdFor('key', key)
				: txnIdFor(this.getExecutionId() ?? 'manual', this.getNode().name, i);
			const sent = await sendNotice(
				client,
				{
					room,
					text,
					html: html || undefined,
					replyTo: String(options.replyTo ?? '').trim() || undefined,
					msgtype: options.msgtype === 'm.text' ? 'm.text' : 'm.notice',
				},
				{ txnId, budgetMs: optionNumber(options, 'budgetSeconds', 120, 1, 3600) * 1000, roomCache, threadCache, encryptionCache },
			);
			if (sent.status === 'invalidInput') {
				throw new NodeOperationError(
					this.getNode(),
					`The message cannot be sent (${sent.reason})`,
					{ itemIndex: i },
				);
			}
			const resultField = String(options.resultField ?? '').trim() || 'matrix';
			const result: IDataObject =
				sent.status === 'sent'
					? {
							operation: 'message',
							status: 'sent',
							roomId: sent.roomId,
							eventId: sent.eventId,
							txnId: sent.txnId,
						}
					: {
							operation: 'message',
							status: sent.status,
							reason: sent.reason,
							roomId: sent.roomId ?? null,
							txnId: sent.txnId,
						};
			out.push({ json: { ...items[i].json, [resultField]: result }, pairedItem: { item: i } });
		} catch (error) {
			const nodeError = runError(this, error);
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { ...items[i].json, error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	return out;
}
