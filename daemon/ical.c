/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Calendar objects built with libical: the iTIP (RFC 5546) invitation
 * for a follow-up, one VEVENT under a METHOD, which a confirmation to a
 * contact carries (and an invitation to the rep can carry later).  The
 * time goes out in UTC, which every calendar reads without a VTIMEZONE;
 * the zones the people live in are the text's business.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <libical/ical.h>

#include "followupd.h"

/* How long the event lasts in a calendar: a call. */
#define ICAL_EVENT_MINUTES	15

/* The UID of follow-up id in database dbid, as the ics export gives it. */
char *
ical_uid(int64_t id, const char *dbid)
{
	char	*uid;

	xasprintf(&uid, "followup-%lld-%s@followupd", (long long)id, dbid);
	return uid;
}

static icalproperty *
ical_person(icalproperty *p, const char *name)
{
	if (name != NULL && *name != '\0')
		icalproperty_add_parameter(p, icalparameter_new_cn(name));
	return p;
}

/*
 * The VCALENDAR of invitation inv: METHOD inv->method (REQUEST or
 * CANCEL), one VEVENT with ORGANIZER, ATTENDEE, UID, SEQUENCE and
 * DTSTART in UTC, and a display alarm inv->alarm seconds ahead when that
 * is not negative.  Caller frees.
 */
char *
ical_invite(const struct ical_invite *inv)
{
	icaltimezone		*utc = icaltimezone_get_utc_timezone();
	icalcomponent		*cal, *ev, *alarm;
	icalproperty		*p;
	struct icaldurationtype	 d;
	char			*mailto, *s;
	int			 cancel = strcmp(inv->method, "CANCEL") == 0;

	cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_prodid(
	    "-//followup//followupd " PACKAGE_VERSION "//EN"));
	icalcomponent_add_property(cal, icalproperty_new_calscale(
	    "GREGORIAN"));
	icalcomponent_add_property(cal, icalproperty_new_method(cancel ?
	    ICAL_METHOD_CANCEL : ICAL_METHOD_REQUEST));

	ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	icalcomponent_add_property(ev, icalproperty_new_uid(inv->uid));
	icalcomponent_add_property(ev, icalproperty_new_sequence(
	    inv->sequence));
	icalcomponent_add_property(ev, icalproperty_new_dtstamp(
	    icaltime_from_timet_with_zone(inv->now, 0, utc)));
	icalcomponent_add_property(ev, icalproperty_new_dtstart(
	    icaltime_from_timet_with_zone(inv->start, 0, utc)));
	d = icaldurationtype_null_duration();
	d.minutes = ICAL_EVENT_MINUTES;
	icalcomponent_add_property(ev, icalproperty_new_duration(d));
	icalcomponent_add_property(ev, icalproperty_new_summary(
	    inv->summary));
	if (inv->description != NULL)
		icalcomponent_add_property(ev, icalproperty_new_description(
		    inv->description));
	xasprintf(&mailto, "mailto:%s", inv->organizer_email);
	icalcomponent_add_property(ev, ical_person(
	    icalproperty_new_organizer(mailto), inv->organizer_name));
	free(mailto);
	xasprintf(&mailto, "mailto:%s", inv->attendee_email);
	p = ical_person(icalproperty_new_attendee(mailto),
	    inv->attendee_name);
	free(mailto);
	icalproperty_add_parameter(p, icalparameter_new_role(
	    ICAL_ROLE_REQPARTICIPANT));
	icalproperty_add_parameter(p, icalparameter_new_partstat(
	    ICAL_PARTSTAT_NEEDSACTION));
	icalcomponent_add_property(ev, p);
	icalcomponent_add_property(ev, icalproperty_new_status(cancel ?
	    ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	if (!cancel && inv->alarm >= 0) {
		alarm = icalcomponent_new(ICAL_VALARM_COMPONENT);
		icalcomponent_add_property(alarm, icalproperty_new_action(
		    ICAL_ACTION_DISPLAY));
		icalcomponent_add_property(alarm, icalproperty_new_trigger(
		    icaltriggertype_from_int(-(int)inv->alarm)));
		icalcomponent_add_property(alarm,
		    icalproperty_new_description(inv->summary));
		icalcomponent_add_component(ev, alarm);
	}
	icalcomponent_add_component(cal, ev);
	/* The _r form hands the string over: no ring buffer left behind. */
	if ((s = icalcomponent_as_ical_string_r(cal)) == NULL)
		fatalx("ical: cannot write the invitation");
	icalcomponent_free(cal);
	return s;
}
