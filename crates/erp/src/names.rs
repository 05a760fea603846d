//! Word lists the demo data draws from. The department, country/city,
//! industry and job-title lists are fixed by the demo data contract.

pub const DEPARTMENTS: [&str; 10] = [
    "Finance", "Engineering", "IT", "Operations", "Sales", "Marketing", "Human Resources", "Legal",
    "Procurement", "Research",
];

/// (country, cities, phone prefix, regional currency)
pub const COUNTRIES: [(&str, &[&str], &str); 11] = [
    ("United States", &["New York", "Chicago", "San Francisco"], "+1"),
    ("Canada", &["Toronto"], "+1"),
    ("Brazil", &["Sao Paulo"], "+55"),
    ("United Kingdom", &["London", "Manchester"], "+44"),
    ("Germany", &["Berlin", "Munich"], "+49"),
    ("France", &["Paris"], "+33"),
    ("Netherlands", &["Amsterdam"], "+31"),
    ("Japan", &["Tokyo", "Osaka"], "+81"),
    ("Singapore", &["Singapore"], "+65"),
    ("India", &["Bangalore", "Mumbai"], "+91"),
    ("Australia", &["Sydney"], "+61"),
];

pub const INDUSTRIES: [&str; 10] = [
    "Manufacturing", "Software", "Construction", "Logistics", "Consulting", "Energy", "Healthcare",
    "Financial Services", "Telecommunications", "Retail",
];

pub const JOB_TITLES: [&str; 14] = [
    "Project Manager", "Software Engineer", "Business Analyst", "Consultant", "Data Engineer", "QA Engineer",
    "Solution Architect", "Accountant", "Financial Analyst", "Operations Manager", "Sales Executive",
    "HR Specialist", "Legal Counsel", "Research Scientist",
];

pub const FIRST_NAMES: [&str; 40] = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Hans", "Greta", "Pierre", "Camille", "Kenji", "Yuki", "Priya", "Arjun", "Lucas", "Ana", "Wei", "Mei",
    "Oliver", "Amelia", "Noah", "Emma", "Liam", "Sofia", "Ethan", "Chloe",
];

pub const LAST_NAMES: [&str; 40] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Müller", "Schmidt", "Dubois", "Laurent", "Tanaka", "Sato", "Sharma", "Patel", "Silva", "Santos",
    "Chen", "Wang", "Clarke", "Evans", "Walker", "Wright", "van Dijk", "de Vries", "Kumar", "Nakamura",
];

pub const PROJECT_WORDS: [&str; 24] = [
    "Atlas", "Phoenix", "Orion", "Horizon", "Summit", "Aurora", "Nimbus", "Vertex", "Titan", "Zenith",
    "Beacon", "Compass", "Falcon", "Granite", "Harbor", "Meridian", "Nova", "Pinnacle", "Quantum",
    "Sapphire", "Keystone", "Lighthouse", "Evergreen", "Cobalt",
];

pub const PROJECT_SUBJECTS: [&str; 20] = [
    "ERP Migration", "Data Platform", "Plant Upgrade", "CRM Rollout", "Cloud Transition", "Payroll Redesign",
    "Warehouse Automation", "Cost Reduction", "Compliance Review", "Network Refresh", "Market Expansion",
    "Mobile App", "Supplier Portal", "Treasury System", "Analytics Hub", "Office Relocation",
    "Security Hardening", "Product Launch", "Process Audit", "Customer Portal",
];

pub const COMPANY_STEMS: [&str; 40] = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Nordwind", "Blue River", "Silverline",
    "Redwood", "Northstar", "Ironbridge", "Brightpath", "Clearwater", "Everest", "Goldleaf", "Highland",
    "Keystone", "Lakeside", "Maple", "Oakridge", "Pacific", "Quantum", "Riverside", "Sterling", "Summit",
    "Trident", "Unity", "Vanguard", "Westfield", "Zenith", "Apex", "Beacon", "Cascade", "Delta", "Eagle",
    "Fusion", "Horizon", "Orbit", "Sakura",
];

pub const CONTACT_TITLES: [&str; 10] = [
    "Account Manager", "Procurement Lead", "Chief Financial Officer", "Sales Director", "Project Coordinator",
    "Operations Director", "Contract Manager", "Technical Lead", "Finance Controller", "Managing Director",
];
