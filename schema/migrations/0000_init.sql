CREATE TABLE `optimization_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`name` text,
	`strategy` text NOT NULL,
	`dataset` text NOT NULL,
	`status` text NOT NULL,
	`spec` text NOT NULL,
	`total` integer NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`canceled` integer DEFAULT 0 NOT NULL,
	`running` integer DEFAULT 0 NOT NULL,
	`queued` integer DEFAULT 0 NOT NULL,
	`retries` integer DEFAULT 0 NOT NULL,
	`top_n` text DEFAULT '[]' NOT NULL,
	`stop_reason` text,
	`created_at` text NOT NULL,
	`started_at` text,
	`finished_at` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `optimization_jobs_tenant_created` ON `optimization_jobs` (`tenant`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `optimization_tasks` (
	`job_id` text NOT NULL,
	`idx` integer NOT NULL,
	`tenant` text NOT NULL,
	`params` text NOT NULL,
	`status` text NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`retries` integer DEFAULT 0 NOT NULL,
	`score` real,
	`metrics` text,
	`result_summary_id` text,
	`error_kind` text,
	`error_message` text,
	`queue_wait_ms` real,
	`exec_ms` real,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`job_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `optimization_tasks_job_status` ON `optimization_tasks` (`job_id`,`status`);