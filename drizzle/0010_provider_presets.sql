-- Issue 16, provider presets. The scheme becomes text: the presets live in one registry in code
-- (src/ingress/schemes/index.ts), which validates every write through the API, so a new preset
-- is one module and one line there, with no migration each time. Existing values are unchanged.
ALTER TABLE "integrations" ALTER COLUMN "scheme" SET DATA TYPE text USING "scheme"::text;
--> statement-breakpoint
DROP TYPE "public"."verification_scheme";
