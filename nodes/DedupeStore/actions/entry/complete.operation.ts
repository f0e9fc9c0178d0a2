import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { entryProperties, resultFieldProperty, show } from '../common';
import { settleItems } from './settle';

export const description: INodeProperties[] = [
	...entryProperties(['complete']),
	{
		displayName: 'Outcome',
		name: 'outcome',
		type: 'options',
		options: [
			{ name: 'Invited', value: 'invited', description: 'The attendee was invited' },
			{
				name: 'Invalid',
				value: 'invalid',
				description: "The attendee's Matrix ID was unusable; do not try again",
			},
			{ name: 'Accepted', value: 'accepted', description: 'The attendee joined the room' },
		],
		default: 'invited',
		displayOptions: show('entry', ['complete']),
	},
	{
		displayName: 'Reason Code',
		name: 'reason',
		type: 'string',
		default: '',
		placeholder: 'missingServer',
		description:
			'Optional short code (letters, digits, _ . : -), e.g. the MXID Validate reason; never free text.',
		displayOptions: show('entry', ['complete']),
	},
	resultFieldProperty('entry', ['complete']),
];

type Outcome = 'invited' | 'invalid' | 'accepted';

/** Records the outcome; the group key is outcome + reason, so each distinct pair is one batch. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const split = (group: string) => {
		const [outcome, ...reason] = group.split('\u0000');
		return { outcome: outcome as Outcome, reason: reason.join('\u0000') };
	};
	return settleItems(
		this,
		ledger,
		items,
		(i) =>
			`${String(this.getNodeParameter('outcome', i))}\u0000${String(this.getNodeParameter('reason', i, '') ?? '')}`,
		(entries, group) => ledger.complete(entries, split(group).outcome, split(group).reason),
		(group) => ({ recorded: split(group).outcome, reason: split(group).reason || null }),
	);
}
