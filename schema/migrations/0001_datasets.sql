CREATE TABLE `datasets` (
	`tenant` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`status` text NOT NULL,
	`bars` integer NOT NULL,
	`first_date` text NOT NULL,
	`last_date` text NOT NULL,
	`columns` text NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`tenant`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `datasets_tenant_name_version` ON `datasets` (`tenant`,`name`,`version`);