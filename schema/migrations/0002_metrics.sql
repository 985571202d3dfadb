CREATE TABLE `metric_counters` (
	`name` text NOT NULL,
	`labels` text NOT NULL,
	`value` real NOT NULL,
	PRIMARY KEY(`name`, `labels`)
);
--> statement-breakpoint
CREATE TABLE `metric_flushes` (
	`job_id` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`token` text NOT NULL
);
