import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { PersonInput } from '../../../../lib/store';
import { show } from '../common';

export function personProperties(operation: string): INodeProperties[] {
	return [
		{
			displayName: 'Matrix ID',
			name: 'personMatrixId',
			type: 'string',
			default: '',
			placeholder: '@alex:example.org',
			description: 'Find entries recorded for this Matrix ID (any spelling MXID Validate accepts)',
			displayOptions: show('entry', [operation]),
		},
		{
			displayName: 'Order Code',
			name: 'personOrderCode',
			type: 'string',
			default: '',
			placeholder: 'ABC12',
			description: 'Find entries recorded for this pretix order code',
			displayOptions: show('entry', [operation]),
		},
		{
			displayName: 'Only These Events',
			name: 'personEvents',
			type: 'string',
			default: '',
			placeholder: 'exampleorg/summit26',
			description:
				"Limit to these ledger events (organizer/event, separated by commas, or an expression's list), e.g. the events mapped to the room of a moderator's request. Empty: every event.",
			displayOptions: show('entry', [operation]),
		},
	];
}

/** The event scope of a person query: undefined (every event) or a list, possibly empty. */
export function readPersonScope(context: IExecuteFunctions, itemIndex: number): { events?: unknown[] } {
	const raw = context.getNodeParameter('personEvents', itemIndex, '') as unknown;
	if (Array.isArray(raw)) return { events: raw };
	const text = String(raw ?? '').trim();
	if (text === '') return {};
	return { events: text.split(/[\s,]+/).filter(Boolean) };
}

export function readPerson(context: IExecuteFunctions, itemIndex: number): PersonInput {
	return {
		matrixId: context.getNodeParameter('personMatrixId', itemIndex, ''),
		orderCode: context.getNodeParameter('personOrderCode', itemIndex, ''),
	};
}
