CREATE TABLE `idempotency_keys` (
	`tenant` text NOT NULL,
	`key` text NOT NULL,
	`body_hash` text NOT NULL,
	`job_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`tenant`, `key`)
);
--> statement-breakpoint
CREATE TABLE `tenant_usage` (
	`tenant` text NOT NULL,
	`day` text NOT NULL,
	`tasks` integer DEFAULT 0 NOT NULL,
	`upload_bytes` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant`, `day`)
);
--> statement-breakpoint
ALTER TABLE `optimization_jobs` ADD `concurrency_limit` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `optimization_jobs_tenant_status` ON `optimization_jobs` (`tenant`,`status`);