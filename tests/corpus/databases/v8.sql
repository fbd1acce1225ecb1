-- A responder database at schema version 8, made by the release before delivery reports were
-- kept (commit 829db80) with its own storage functions: two WhatsApp acknowledgements sent and
-- recorded by Store.mark_replies, the second one in two parts (its second wamid only in posts).
-- Loaded by tests/test_whatsapp_status.py to check the upgrade to version 9.
BEGIN TRANSACTION;
CREATE TABLE blocked (
	channel VARCHAR(64) NOT NULL, 
	recipient VARCHAR(320) NOT NULL, 
	since DATETIME NOT NULL, 
	PRIMARY KEY (channel, recipient)
);
CREATE TABLE channel_health (
	channel VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	since DATETIME NOT NULL, 
	problem TEXT, 
	remedy TEXT, 
	"key" VARCHAR(200), 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (channel)
);
CREATE TABLE cursors (
	channel VARCHAR(64) NOT NULL, 
	validity BIGINT NOT NULL, 
	position BIGINT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (channel)
);
CREATE TABLE early_marks (
	channel VARCHAR(64) NOT NULL, 
	message_id VARCHAR(400) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (channel, message_id, kind)
);
CREATE TABLE inbound (
	id INTEGER NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	external_id VARCHAR(400) NOT NULL, 
	raw BLOB NOT NULL, 
	received_at DATETIME NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	outcome VARCHAR(32), 
	sender VARCHAR(320), 
	subject VARCHAR(400), 
	ticket_id INTEGER, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_inbound_channel_external UNIQUE (channel, external_id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id)
);
INSERT INTO "inbound" VALUES(1,'shop-wa','wamid.IN1',X'7B7D','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000','done','replied','6281234567890',NULL,1,0,NULL);
INSERT INTO "inbound" VALUES(2,'shop-wa','wamid.IN2',X'7B7D','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000','done','replied','6289876543210',NULL,2,0,NULL);
CREATE TABLE meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE posts (
	channel VARCHAR(64) NOT NULL, 
	chat VARCHAR(64) NOT NULL, 
	message_id VARCHAR(64) NOT NULL, 
	reply_id INTEGER NOT NULL, 
	PRIMARY KEY (channel, chat, message_id), 
	FOREIGN KEY(reply_id) REFERENCES replies (id)
);
INSERT INTO "posts" VALUES('shop-wa','6281234567890','wamid.V8ONE',1);
INSERT INTO "posts" VALUES('shop-wa','6289876543210','wamid.V8TWO-A',2);
INSERT INTO "posts" VALUES('shop-wa','6289876543210','wamid.V8TWO-B',2);
CREATE TABLE replies (
	id INTEGER NOT NULL, 
	inbound_id INTEGER NOT NULL, 
	ticket_id INTEGER, 
	channel VARCHAR(64) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	period VARCHAR(64), 
	recipient VARCHAR(320) NOT NULL, 
	envelope_from VARCHAR(320) NOT NULL, 
	message_id VARCHAR(400) NOT NULL, 
	message BLOB NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	last_error TEXT, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	external_id VARCHAR(64), 
	thread VARCHAR(64), 
	sla_timer_id INTEGER, 
	survey_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inbound_id) REFERENCES inbound (id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id), 
	UNIQUE (message_id)
);
INSERT INTO "replies" VALUES(1,1,1,'shop-wa','acknowledgement',NULL,'6281234567890','','<reply-1@responder>',X'7B7D','sent',1,NULL,NULL,'2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000','wamid.V8ONE',NULL,NULL,NULL);
INSERT INTO "replies" VALUES(2,2,2,'shop-wa','acknowledgement',NULL,'6289876543210','','<reply-2@responder>',X'7B7D','sent',1,NULL,NULL,'2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000','wamid.V8TWO-A',NULL,NULL,NULL);
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-03 15:12:20.448180');
INSERT INTO "schema_version" VALUES(2,'2026-12-03 15:12:20.449895');
INSERT INTO "schema_version" VALUES(3,'2026-12-03 15:12:20.476900');
INSERT INTO "schema_version" VALUES(4,'2026-12-03 15:12:20.488560');
INSERT INTO "schema_version" VALUES(5,'2026-12-03 15:12:20.498930');
INSERT INTO "schema_version" VALUES(6,'2026-12-03 15:12:20.499680');
INSERT INTO "schema_version" VALUES(7,'2026-12-03 15:12:20.500664');
INSERT INTO "schema_version" VALUES(8,'2026-12-03 15:12:20.512281');
CREATE TABLE suppressions (
	id INTEGER NOT NULL, 
	inbound_id INTEGER NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	rule VARCHAR(64) NOT NULL, 
	reason TEXT NOT NULL, 
	sender VARCHAR(320), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (inbound_id), 
	FOREIGN KEY(inbound_id) REFERENCES inbound (id)
);
CREATE TABLE surveys (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	recipient VARCHAR(320) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	reason TEXT, 
	due_at DATETIME, 
	sent_at DATETIME, 
	reply_id INTEGER, 
	rating INTEGER, 
	nps INTEGER, 
	comment TEXT, 
	answered_at DATETIME, 
	answered_via VARCHAR(16), 
	notified_at DATETIME, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (ticket_id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id), 
	FOREIGN KEY(reply_id) REFERENCES replies (id)
);
CREATE TABLE thread_ids (
	message_id VARCHAR(400) NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	PRIMARY KEY (message_id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id)
);
CREATE TABLE ticket_events (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	inbound_id INTEGER, 
	kind VARCHAR(32) NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	detail TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id), 
	FOREIGN KEY(inbound_id) REFERENCES inbound (id)
);
CREATE TABLE tickets (
	id INTEGER NOT NULL, 
	ref VARCHAR(16) NOT NULL, 
	channel VARCHAR(64) NOT NULL, 
	customer VARCHAR(320) NOT NULL, 
	customer_name VARCHAR(200) NOT NULL, 
	subject VARCHAR(400) NOT NULL, 
	language VARCHAR(8) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	rule VARCHAR(64), 
	priority VARCHAR(16), 
	tags TEXT, 
	sla_policy VARCHAR(64), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	resolved_at DATETIME, 
	utc_offset INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (ref)
);
INSERT INTO "tickets" VALUES(1,'TKT-0001','shop-wa','6281234567890','Budi','','id','open',NULL,NULL,NULL,NULL,'2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,NULL);
INSERT INTO "tickets" VALUES(2,'TKT-0002','shop-wa','6289876543210','Sari','','id','open',NULL,NULL,NULL,NULL,'2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,NULL);
CREATE TABLE timers (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	clock VARCHAR(16) NOT NULL, 
	stage VARCHAR(40) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	due_at DATETIME, 
	fired_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_timers_ticket_clock_stage UNIQUE (ticket_id, clock, stage), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id)
);
CREATE INDEX ix_tickets_channel_customer ON tickets (channel, customer);
CREATE INDEX ix_inbound_state ON inbound (state);
CREATE INDEX ix_inbound_ticket ON inbound (ticket_id, id);
CREATE INDEX ix_replies_ticket ON replies (ticket_id);
CREATE INDEX ix_replies_state ON replies (state);
CREATE UNIQUE INDEX uq_replies_once ON replies (inbound_id, kind, recipient) WHERE sla_timer_id IS NULL AND survey_id IS NULL;
CREATE UNIQUE INDEX uq_replies_alert ON replies (sla_timer_id, recipient) WHERE sla_timer_id IS NOT NULL;
CREATE INDEX ix_replies_recipient_created ON replies (recipient, created_at);
CREATE INDEX ix_suppressions_rule ON suppressions (rule);
CREATE INDEX ix_ticket_events_ticket ON ticket_events (ticket_id);
CREATE INDEX ix_timers_state_due ON timers (state, due_at);
CREATE INDEX ix_surveys_recipient_sent ON surveys (channel, recipient, sent_at);
CREATE INDEX ix_surveys_state_due ON surveys (state, due_at);
COMMIT;

