import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { countAttempt, type Ledger, type ThrottleKey } from '../../../../lib/store';
import { errorItem, show, toNodeError } from '../common';
import { listOf } from '../inviteCode/fields';

const ops = ['count'];

export const description: INodeProperties[] = [
	{
		displayName: 'Events',
		name: 'events',
		type: 'string',
		default: '',
		required: true,
		description: 'Ledger event keys the attempt is counted under (deleted with each event\'s purge); separated by commas, or an array',
		displayOptions: show('throttle', ops),
	},
	{
		displayName: 'Sender',
		name: 'sender',
		type: 'string',
		default: '={{ $json.sender }}',
		description: 'Matrix ID of who tries (stored as a keyed hash)',
		displayOptions: show('throttle', ops),
	},
	{
		displayName: 'Order Code',
		name: 'orderCode',
		type: 'string',
		default: '',
		description: 'The order code tried, counted on its own for everyone (stored as a keyed hash); empty: not counted',
		displayOptions: show('throttle', ops),
	},
	{
		displayName: 'Max Attempts',
		name: 'maxAttempts',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 10,
		description: 'Attempts allowed per sender and per order code within the window',
		displayOptions: show('throttle', ops),
	},
	{
		displayName: 'Window (Minutes)',
		name: 'windowMinutes',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 60,
		description: 'A counter is forgotten this long after its last attempt (so someone who keeps trying stays blocked)',
		displayOptions: show('throttle', ops),
	},
];

/** Outputs: Allowed and Throttled; each item gets `throttle: {allowed, attempts}`. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = [[], []];
	for (let i = 0; i < items.length; i++) {
		try {
			const keys: ThrottleKey[] = [
				{ kind: 'sender', value: this.getNodeParameter('sender', i, '') },
				{ kind: 'order', value: this.getNodeParameter('orderCode', i, '') },
			];
			const result = await countAttempt(ledger, {
				events: listOf(this.getNodeParameter('events', i, '')),
				keys,
				limit: Number(this.getNodeParameter('maxAttempts', i, 10)),
				windowSeconds: Number(this.getNodeParameter('windowMinutes', i, 60)) * 60,
			});
			outputs[result.allowed ? 0 : 1].push({ json: { ...items[i].json, throttle: { ...result } }, pairedItem: { item: i } });
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this, error, i);
			outputs[1].push(errorItem(this, error, i));
		}
	}
	return outputs;
}
