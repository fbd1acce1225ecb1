-- A responder database at schema version 7, made by the release before ids became columns
-- (commit fe5efbc) with its own storage functions: SLA alerts recorded by alerts.record_fired
-- (reply kinds sla_<timer id>), the survey by survey_sends.record_sent, two rounds of low-rating
-- notices by queue_sends (csat_low_<survey id>, csat_low_<survey id>_1), Telegram posts by
-- Store.mark_replies. Loaded by tests/test_store.py to check the upgrade to version 8.
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
INSERT INTO "inbound" VALUES(1,'support-mail','<c1@example.com>',X'46726F6D3A2062756469406578616D706C652E636F6D0D0A5375626A6563743A20506573616E616E20736179610D0A0D0A48616C6F','2026-11-02 09:00:00.000000','2026-11-02 09:00:00.000000','done','replied','budi@example.com','Pesanan saya',1,0,NULL);
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
INSERT INTO "posts" VALUES('shop-bot','-1001234','103',3);
INSERT INTO "posts" VALUES('shop-bot','-1001234','105',5);
INSERT INTO "posts" VALUES('shop-bot','-1001234','108',8);
INSERT INTO "posts" VALUES('shop-bot','-1001234','110',10);
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
	PRIMARY KEY (id), 
	CONSTRAINT uq_replies_inbound_kind_recipient UNIQUE (inbound_id, kind, recipient), 
	FOREIGN KEY(inbound_id) REFERENCES inbound (id), 
	FOREIGN KEY(ticket_id) REFERENCES tickets (id), 
	UNIQUE (message_id)
);
INSERT INTO "replies" VALUES(1,1,1,'support-mail','acknowledgement',NULL,'budi@example.com','','<ack1@toko-contoh.id>',X'61636B','sent',1,NULL,NULL,'2026-11-02 09:00:00.000000','2026-11-02 09:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(2,1,1,'support-mail','sla_1',NULL,'cs@toko-contoh.id','','<sla1@toko-contoh.id>',X'616C657274206D61696C','sent',1,NULL,NULL,'2026-11-02 10:00:00.000000','2026-11-02 10:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(3,1,NULL,'shop-bot','sla_1',NULL,'-1001234','','<sla1@shop-bot.telegram>',X'7B22636861745F6964223A2D313030313233342C2274657874223A22616C657274227D','sent',1,NULL,NULL,'2026-11-02 10:00:00.000000','2026-11-02 10:00:00.000000','103',NULL);
INSERT INTO "replies" VALUES(4,1,1,'support-mail','sla_2',NULL,'cs@toko-contoh.id','','<sla2@toko-contoh.id>',X'616C657274206D61696C','sent',1,NULL,NULL,'2026-11-02 11:00:00.000000','2026-11-02 11:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(5,1,NULL,'shop-bot','sla_2',NULL,'-1001234','','<sla2@shop-bot.telegram>',X'7B22636861745F6964223A2D313030313233342C2274657874223A22616C657274227D','sent',1,NULL,NULL,'2026-11-02 11:00:00.000000','2026-11-02 11:00:00.000000','105',NULL);
INSERT INTO "replies" VALUES(6,1,1,'support-mail','csat_survey',NULL,'budi@example.com','','<survey1@toko-contoh.id>',X'737572766579','sent',1,NULL,NULL,'2026-11-03 09:00:00.000000','2026-11-03 09:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(7,1,1,'support-mail','csat_low_1',NULL,'cs@toko-contoh.id','','<low0@toko-contoh.id>',X'6C6F7720726174696E67','sent',1,NULL,NULL,'2026-11-04 09:00:00.000000','2026-11-04 09:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(8,1,NULL,'shop-bot','csat_low_1',NULL,'-1001234','','<low0@shop-bot.telegram>',X'7B22636861745F6964223A2D313030313233342C2274657874223A226C6F77227D','sent',1,NULL,NULL,'2026-11-04 09:00:00.000000','2026-11-04 09:00:00.000000','108',NULL);
INSERT INTO "replies" VALUES(9,1,1,'support-mail','csat_low_1_1',NULL,'cs@toko-contoh.id','','<low1@toko-contoh.id>',X'6C6F7720726174696E67','sent',1,NULL,NULL,'2026-11-05 09:00:00.000000','2026-11-05 09:00:00.000000',NULL,NULL);
INSERT INTO "replies" VALUES(10,1,NULL,'shop-bot','csat_low_1_1',NULL,'-1001234','','<low1@shop-bot.telegram>',X'7B22636861745F6964223A2D313030313233342C2274657874223A226C6F77227D','sent',1,NULL,NULL,'2026-11-05 09:00:00.000000','2026-11-05 09:00:00.000000','110',NULL);
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-03 05:13:46.989082');
INSERT INTO "schema_version" VALUES(2,'2026-12-03 05:13:46.992741');
INSERT INTO "schema_version" VALUES(3,'2026-12-03 05:13:47.010961');
INSERT INTO "schema_version" VALUES(4,'2026-12-03 05:13:47.022818');
INSERT INTO "schema_version" VALUES(5,'2026-12-03 05:13:47.029143');
INSERT INTO "schema_version" VALUES(6,'2026-12-03 05:13:47.031267');
INSERT INTO "schema_version" VALUES(7,'2026-12-03 05:13:47.034682');
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
INSERT INTO "surveys" VALUES(1,1,'support-mail','budi@example.com','answered',NULL,'2026-11-03 09:00:00.000000','2026-11-03 09:00:00.000000',6,1,NULL,'lama sekali','2026-11-04 09:00:00+00:00','email','2026-11-04 09:00:00+00:00','2026-11-02 09:00:00.000000','2026-11-03 09:00:00.000000');
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
INSERT INTO "ticket_events" VALUES(1,1,NULL,'sla_reminder','responder','first_response x','2026-11-02 10:00:00.000000');
INSERT INTO "ticket_events" VALUES(2,1,NULL,'sla_breach','responder','first_response x','2026-11-02 11:00:00.000000');
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
INSERT INTO "tickets" VALUES(1,'K7Q2XM','support-mail','budi@example.com','Budi','Pesanan saya','id','resolved',NULL,NULL,NULL,'standard','2026-11-02 09:00:00.000000','2026-11-02 09:00:00.000000','2026-11-02 12:00:00.000000',NULL);
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
INSERT INTO "timers" VALUES(1,1,'first_response','reminder-1','done','2026-11-02 10:00:00.000000','2026-11-02 10:00:00.000000','2026-11-02 10:00:00.000000');
INSERT INTO "timers" VALUES(2,1,'first_response','breach','done','2026-11-02 11:00:00.000000','2026-11-02 11:00:00.000000','2026-11-02 11:00:00.000000');
CREATE INDEX ix_tickets_channel_customer ON tickets (channel, customer);
CREATE INDEX ix_inbound_ticket ON inbound (ticket_id, id);
CREATE INDEX ix_inbound_state ON inbound (state);
CREATE INDEX ix_replies_state ON replies (state);
CREATE INDEX ix_replies_ticket ON replies (ticket_id);
CREATE INDEX ix_replies_recipient_created ON replies (recipient, created_at);
CREATE INDEX ix_suppressions_rule ON suppressions (rule);
CREATE INDEX ix_ticket_events_ticket ON ticket_events (ticket_id);
CREATE INDEX ix_timers_state_due ON timers (state, due_at);
CREATE INDEX ix_surveys_recipient_sent ON surveys (channel, recipient, sent_at);
CREATE INDEX ix_surveys_state_due ON surveys (state, due_at);
COMMIT;
