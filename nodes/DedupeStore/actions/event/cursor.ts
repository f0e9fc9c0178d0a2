import type { INodeProperties } from 'n8n-workflow';

import { show } from '../common';

export function cursorNameProperty(operations: string[]): INodeProperties {
	return {
		displayName: 'Cursor Name',
		name: 'cursorName',
		type: 'string',
		default: 'default',
		description: 'Several cursors per event are possible, e.g. one per sync',
		displayOptions: show('event', operations),
	};
}
