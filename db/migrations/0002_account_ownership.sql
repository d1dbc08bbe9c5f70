DROP INDEX "users_email_normalized_key";--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "held" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "owns_email" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_normalized_key" ON "users" USING btree ("email_normalized") WHERE "users"."owns_email";--> statement-breakpoint
-- Accounts created from a provider that did not vouch for their email, and never verified
-- since, release the address: it becomes their contact address, and its real owner can
-- register it (or sign in with a provider that vouches for it).
UPDATE "users" SET "owns_email" = false WHERE "is_verified" = false AND "oauth_provider" <> 'local';
