"""simple-salesforce (https://pypi.org/project/simple-salesforce/), used as its documentation
shows, against a live byoc over HTTPS (scripts/client-test starts it; BYOC_DATA_DIR, BYOC_BIN,
REQUESTS_CA_BUNDLE = byoc's local CA): SOAP login, SOQL on the CCD with its vendor type, describe
of the platform event, a CCD created through the Tooling API, an interaction through a channel
built on it.

simple-salesforce builds https://{instance}/services/data/... URLs itself, so it needs byoc's HTTPS
listener; `SalesforceLogin(..., scratch_url=...)` is its way to log in somewhere other than
{domain}.salesforce.com.
"""

import json
import os
import re
import subprocess
import unittest
from urllib.parse import urlparse

from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceMalformedRequest

DATA_DIR = os.environ["BYOC_DATA_DIR"]
BIN = os.environ["BYOC_BIN"]
with open(os.path.join(DATA_DIR, "org.json"), encoding="utf-8") as f:
    ORG = json.load(f)
with open(os.path.join(DATA_DIR, "partner.env"), encoding="utf-8") as f:
    PARTNER = dict(
        m.groups() for m in (re.match(r'^([A-Z_]+)="?(.*?)"?$', line) for line in f) if m
    )
CCD_NAME = f"Simple_Salesforce_CCD_{os.getpid()}"


def byoc(*args, env=None):
    """Run the byoc CLI on the test's data dir; its stdout."""
    return subprocess.run(
        [BIN, "--data-dir", DATA_DIR, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout


class SimpleSalesforceAgainstByoc(unittest.TestCase):
    """One org, the steps in order (unittest runs test methods alphabetically)."""

    sf = None

    @classmethod
    def setUpClass(cls):
        https = ORG["login_url_https"]
        session_id, instance = SalesforceLogin(
            username=ORG["admin_username"],
            password=ORG["admin_password"],
            security_token="",
            scratch_url=https,
        )
        cls.session_id = session_id
        cls.instance = instance
        # As the docs show for an existing session: instance_url + session_id.
        cls.sf = Salesforce(instance_url=ORG["instance_url_https"], session_id=session_id)

    def test_1_login_gave_an_org_session_on_the_https_instance(self):
        self.assertTrue(self.session_id.startswith(ORG["org_id"] + "!"), self.session_id)
        self.assertEqual(self.instance, urlparse(ORG["instance_url_https"]).netloc)
        with self.assertRaises(SalesforceAuthenticationFailed) as refused:
            SalesforceLogin(
                username=ORG["admin_username"],
                password="not-the-password",
                security_token="",
                scratch_url=ORG["login_url_https"],
            )
        self.assertEqual(refused.exception.code, "INVALID_LOGIN")

    def test_2_soql_on_the_ccd_and_its_vendor_type(self):
        result = self.sf.query(
            "SELECT DeveloperName, ConversationVendorInfo.VendorType "
            "FROM ConversationChannelDefinition"
        )
        self.assertTrue(result["done"])
        sample = [
            r
            for r in result["records"]
            if r["DeveloperName"] == PARTNER["SF_AUTHORIZATION_CONTEXT"]
        ]
        self.assertEqual(len(sample), 1, result)
        self.assertEqual(sample[0]["ConversationVendorInfo"]["VendorType"], "BringYourOwnChannel")
        with self.assertRaises(SalesforceMalformedRequest) as refused:
            self.sf.query("SELECT Id FROM NoSuchThing")
        self.assertEqual(refused.exception.content[0]["errorCode"], "INVALID_TYPE")

    def test_3_describe_of_the_platform_event(self):
        event = self.sf.Byoc_Outbound__e.describe()
        self.assertEqual(event["name"], "Byoc_Outbound__e")
        fields = {f["name"]: f for f in event["fields"]}
        for name in (
            PARTNER["SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD"],
            PARTNER["SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD"],
            PARTNER["SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD"],
            PARTNER["SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD"],
        ):
            self.assertIn(name, fields)
            self.assertTrue(fields[name]["custom"], name)

    def test_4_tooling_api_create(self):
        saved = self.sf.toolingexecute(
            "sobjects/ConversationChannelDefinition",
            method="POST",
            data={
                "DeveloperName": CCD_NAME,
                "MasterLabel": "Simple Salesforce CCD",
                "CustomPlatformEvent": "Byoc_Outbound__e",
                "CustomEventPayloadField": PARTNER["SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD"],
                "CustomEventTypeField": PARTNER["SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD"],
                "CustomEventChannelAddressIdField": PARTNER[
                    "SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD"
                ],
                "CustomEventRecipientField": PARTNER["SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD"],
                "RoutingOwner": "Salesforce",
                "ConsentOwner": "Salesforce",
                # The customer links their own app (below).
                "ConnectedAppType": "Customer",
            },
        )
        self.assertTrue(saved["success"], saved)
        found = self.sf.toolingexecute(
            "query/?q=SELECT+Id+FROM+ConversationChannelDefinition+WHERE+DeveloperName+=+'"
            + CCD_NAME
            + "'"
        )
        self.assertEqual([r["Id"] for r in found["records"]], [saved["id"]])

    def test_5_an_interaction_through_a_channel_on_the_new_ccd(self):
        address = f"simple-salesforce-{os.getpid()}"
        byoc(
            "setup", "channel", "create", "--name", "Simple Salesforce Channel",
            "--type", "byoc-messaging", "--address", address, "--ccd", CCD_NAME,
        )
        byoc("setup", "ccd", "set", CCD_NAME, "--app", "BYOC Sample App")
        sent = json.loads(
            byoc(
                "send", "--to", address, "--output", "json", "--text", "hello from simple-salesforce",
                env={"SF_AUTHORIZATION_CONTEXT": CCD_NAME},
            )
        )
        self.assertTrue(sent["success"], sent)
        entries = self.sf.query(
            "SELECT Message FROM ConversationEntry WHERE ConversationId = '%s'"
            % sent["workItemIds"][0]
        )
        self.assertEqual(
            [r["Message"] for r in entries["records"]], ["hello from simple-salesforce"]
        )


if __name__ == "__main__":
    unittest.main()
