import type { Knex } from 'knex';

const ts = (t: Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

// Rendered reports (connect-api-next.md §3–§5): variants of an item, each render of a variant,
// one schedule per variant, who asked for or opted out of its email, the server's mail
// settings, and every message sent. Due times, claims and history live here, so a restart
// or a second server loses nothing and repeats nothing.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('variants', (t) => {
    t.increments('id').primary();
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    // 8 random characters, in URLs (`/content/{guid}/v{key}/`) and usage records.
    t.string('key', 16).notNullable().unique();
    t.string('name', 255).notNullable();
    t.boolean('is_default').notNullable().defaultTo(false);
    t.string('visibility', 16).notNullable().defaultTo('public');
    // Null for the default variant (Connect answers owner_id 0).
    t.integer('owner_id').nullable().references('id').inTable('users').onDelete('SET NULL');
    // The saved parameter values, as JSON (R Markdown `params`); null: the document's own.
    t.text('params_json').nullable();
    t.boolean('email_collaborators').notNullable().defaultTo(false);
    t.boolean('email_viewers').notNullable().defaultTo(false);
    t.boolean('email_all').notNullable().defaultTo(false);
    // The rendering viewers get (the newest successful one that was activated).
    t.integer('rendering_id').nullable();
    ts(t, 'created_time').notNullable();
    t.index(['content_id']);
  });

  await knex.schema.createTable('schedules', (t) => {
    t.increments('id').primary();
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    // A variant has at most one schedule.
    t.integer('variant_id').notNullable().unique().references('id').inTable('variants').onDelete('CASCADE');
    t.string('type', 32).notNullable();
    // The rule as the client sent it: a string holding JSON.
    t.text('schedule').notNullable();
    ts(t, 'start_time').notNullable();
    t.string('timezone', 64).notNullable();
    t.boolean('activate').notNullable().defaultTo(true);
    t.boolean('email').notNullable().defaultTo(false);
    // Null when the rule can never fire again. The scheduler claims rows whose time has come.
    ts(t, 'next_run').nullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
    t.index(['next_run']);
  });

  await knex.schema.createTable('renderings', (t) => {
    t.increments('id').primary();
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('variant_id').notNullable().references('id').inTable('variants').onDelete('CASCADE');
    t.integer('bundle_id').notNullable();
    // deploy | manual | schedule
    t.string('trigger', 16).notNullable();
    t.integer('schedule_id').nullable();
    // For a scheduled run: the slot it is for. Unique with the schedule, so one slot renders once
    // however many servers claim.
    ts(t, 'due_time').nullable();
    // queued | running | succeeded | failed
    t.string('status', 16).notNullable();
    // 2 for the retry of a render whose server died under it.
    t.integer('attempt').notNullable().defaultTo(1);
    // Whether a success becomes the variant's current rendering, and whether it is mailed.
    t.boolean('activate').notNullable().defaultTo(true);
    t.boolean('email').notNullable().defaultTo(false);
    // The server running it, and until when that server vouches for it; a lapsed lease is a dead render.
    t.string('server_id', 64).nullable();
    ts(t, 'lease_until').nullable();
    t.string('task_id', 64).nullable();
    t.string('job_key', 64).nullable();
    // Relative to the renders directory; the document served as its index.
    t.string('output_path', 1024).nullable();
    t.string('output_file', 255).nullable();
    // The document's output metadata (custom email), as the render wrote it; bounded.
    t.text('metadata_json').nullable();
    t.text('error').nullable();
    t.integer('requested_by').nullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'started_time').nullable();
    ts(t, 'render_time').nullable();
    t.bigInteger('render_duration').nullable();
    t.unique(['schedule_id', 'due_time']);
    t.index(['variant_id', 'id']);
    t.index(['status']);
  });

  await knex.schema.createTable('variant_subscribers', (t) => {
    t.integer('variant_id').notNullable().references('id').inTable('variants').onDelete('CASCADE');
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    // false: opted out of mail they would get as a collaborator or viewer.
    t.boolean('subscribed').notNullable();
    ts(t, 'updated_time').notNullable();
    t.primary(['variant_id', 'user_id']);
  });

  await knex.schema.createTable('mail_settings', (t) => {
    // One row (id 1): the administrator's SMTP server.
    t.integer('id').primary();
    t.string('host', 255).notNullable();
    t.integer('port').notNullable();
    // tls (implicit, 465) | starttls (required) | none
    t.string('security', 16).notNullable();
    t.string('username', 255).nullable();
    // SecretBox ciphertext; never stored or logged in the clear.
    t.text('password_encrypted').nullable();
    t.string('from_address', 320).notNullable();
    t.string('from_name', 255).nullable();
    t.boolean('skip_verify').notNullable().defaultTo(false);
    ts(t, 'updated_time').notNullable();
  });

  await knex.schema.createTable('email_messages', (t) => {
    t.increments('id').primary();
    t.integer('content_id').nullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('variant_id').nullable();
    t.integer('rendering_id').nullable();
    // scheduled | on-demand | failure | test
    t.string('kind', 16).notNullable();
    // subject, text, html, attachments and inline images, as built when it was queued.
    t.text('message_json').notNullable();
    ts(t, 'created_time').notNullable();
  });

  await knex.schema.createTable('email_sends', (t) => {
    t.increments('id').primary();
    t.integer('message_id').notNullable().references('id').inTable('email_messages').onDelete('CASCADE');
    t.string('recipient', 320).notNullable();
    t.integer('user_id').nullable();
    // pending | sent | failed
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    ts(t, 'next_attempt_time').notNullable();
    // A sender's claim, so two servers never send one message twice.
    t.string('claimed_by', 64).nullable();
    ts(t, 'claimed_until').nullable();
    t.text('last_error').nullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'sent_time').nullable();
    t.index(['status', 'next_attempt_time']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['email_sends', 'email_messages', 'mail_settings', 'variant_subscribers', 'renderings', 'schedules', 'variants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
