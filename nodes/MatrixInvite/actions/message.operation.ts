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
		description: "Room ID or alias to post to (the trigger's roomId when answering a command)",
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
				description: 'Event to answer, e.g. the command event from the Matrix Command Trigger',
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

export async function execute(
	this: IExecuteFunctions,
	client: MatrixClient,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const roomCache = new Map<string, { roomId?: string; problem?: RoomProblem }>();
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
				{ txnId, budgetMs: optionNumber(options, 'budgetSeconds', 120, 1, 3600) * 1000, roomCache },
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
