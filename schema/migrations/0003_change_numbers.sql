ALTER TABLE `optimization_jobs` ADD `change_seq` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `optimization_tasks` ADD `change_seq` integer DEFAULT 0 NOT NULL;