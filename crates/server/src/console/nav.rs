//! The Setup tree on the left of every page, with Setup's section and page labels, and the
//! Quick Find box that filters it (in the browser by `console.js`; without JavaScript, by the
//! Quick Find form's `q` on the Setup home page).

/// One page in the tree.
#[derive(Debug)]
pub struct Item {
    /// Stable key pages pass to [`super::Layout::new`] to mark themselves current.
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    /// Other words Quick Find matches (Setup finds "Messaging Settings" from "messaging").
    pub keywords: &'static str,
}

/// A folder of the tree.
#[derive(Debug)]
pub struct Section {
    pub label: &'static str,
    pub items: &'static [Item],
}

impl Item {
    /// Whether Quick Find text `q` matches this entry (case-insensitive, any word).
    pub fn matches(&self, section: &Section, q: &str) -> bool {
        let q = q.trim().to_lowercase();
        q.is_empty()
            || self.label.to_lowercase().contains(&q)
            || section.label.to_lowercase().contains(&q)
            || self.keywords.to_lowercase().contains(&q)
    }
}

pub const SECTIONS: &[Section] = &[
    Section {
        label: "Users",
        items: &[
            Item {
                key: "users",
                label: "Users",
                href: "/lightning/setup/ManageUsers/home",
                keywords: "password login as deactivate",
            },
            Item {
                key: "profiles",
                label: "Profiles",
                href: "/lightning/setup/EnhancedProfiles/home",
                keywords: "system administrator standard user",
            },
            Item {
                key: "permsets",
                label: "Permission Sets",
                href: "/lightning/setup/PermSets/home",
                keywords: "object permissions assignments",
            },
            Item {
                key: "login-history",
                label: "Login History",
                href: "/lightning/setup/OrgLoginHistory/home",
                keywords: "logins failures diagnosis",
            },
        ],
    },
    Section {
        label: "Apps",
        items: &[
            Item {
                key: "eca-manager",
                label: "External Client App Manager",
                href: "/lightning/setup/ManageExternalClientApplication/home",
                keywords: "external client apps oauth jwt consumer key",
            },
            Item {
                key: "eca-settings",
                label: "External Client App Settings",
                href: "/lightning/setup/ExternalClientAppSettings/home",
                keywords: "external client apps settings new connected app",
            },
            Item {
                key: "connected-apps",
                label: "Manage Connected Apps",
                href: "/lightning/setup/ConnectedApplication/home",
                keywords: "connected apps oauth policies profiles",
            },
        ],
    },
    Section {
        label: "Feature Settings",
        items: &[Item {
            key: "messaging",
            label: "Messaging Settings",
            href: "/lightning/setup/LiveMessageSetup/home",
            keywords: "messaging channels conversation channel definition ccd byoc",
        }],
    },
    Section {
        label: "Company Settings",
        items: &[Item {
            key: "company",
            label: "Company Information",
            href: "/lightning/setup/CompanyProfileInfo/home",
            keywords: "org id organization settings",
        }],
    },
    Section {
        label: "Security",
        items: &[
            Item {
                key: "audit",
                label: "View Setup Audit Trail",
                href: "/lightning/setup/SecurityEvents/home",
                keywords: "audit trail changes",
            },
            Item {
                key: "certificate",
                label: "Certificate Helper",
                href: "/lightning/setup/ByocCertificate/home",
                keywords: "certificate key pair openssl jwt",
            },
        ],
    },
    Section {
        label: "Integrations",
        items: &[Item {
            key: "platform-events",
            label: "Platform Events",
            href: "/lightning/setup/EventObjects/home",
            keywords: "pub/sub pubsub topics schema replay subscriptions events",
        }],
    },
    Section {
        label: "BYOC",
        items: &[
            Item {
                key: "checklist",
                label: "Setup Checklist",
                href: "/lightning/setup/ByocChecklist/home",
                keywords: "doctor checklist byoc steps",
            },
            Item {
                key: "conversations",
                label: "Agent Console",
                href: "/lightning/o/Conversation/list",
                keywords: "conversations sessions agent reply service console transcript",
            },
            Item {
                key: "inspector",
                label: "Request Inspector",
                href: "/lightning/setup/RequestInspector/home",
                keywords: "requests calls errors diagnosis token interaction api pub/sub inspect",
            },
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_find_matches_labels_sections_and_keywords() {
        let found = |q: &str| -> Vec<&str> {
            SECTIONS
                .iter()
                .flat_map(|s| s.items.iter().filter(move |i| i.matches(s, q)))
                .map(|i| i.label)
                .collect()
        };
        assert_eq!(found("Messaging Settings"), ["Messaging Settings"]);
        assert_eq!(found("messaging"), ["Messaging Settings"]);
        assert!(found("external").contains(&"External Client App Manager"));
        assert!(found("zzz").is_empty());
        assert_eq!(
            found("").len(),
            SECTIONS.iter().map(|s| s.items.len()).sum::<usize>()
        );
    }
}
