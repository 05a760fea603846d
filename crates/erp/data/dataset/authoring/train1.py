# (questions+sql) intents for the TRAIN split, part 1. Each intent: list of (question, sql).
P,R,C,K,S,T="PAC_MNT_PROJECTS","PAC_MNT_RESOURCES","SRM_COMPANIES","SRM_CONTACTS","PROJSTAFF","PROJCNTRTS"
TRAIN = []
def I(*pairs): TRAIN.append(list(pairs))

# ---- simple: projects
I(("How many projects are there?", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS"),
  ("What is the total number of projects?", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS"),
  ("Count all projects in the system.", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS"))
I(("List the active projects.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY Project_Code"),
  ("Which projects are on hold?", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'On Hold' ORDER BY Project_Code"),
  ("Show me the cancelled projects.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Cancelled' ORDER BY Project_Code"))
I(("Which projects are over budget?", "SELECT Project_Code, Project_Name, Budget_Amount, Actual_Cost FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount ORDER BY Project_Code"),
  ("Show projects whose actual cost exceeds the budget.", "SELECT Project_Code, Project_Name, Budget_Amount, Actual_Cost FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount ORDER BY Project_Code"),
  ("Which projects have overrun?", "SELECT Project_Code, Project_Name, Budget_Amount, Actual_Cost FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount ORDER BY Project_Code"))
I(("How many projects are in the EMEA region?", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS WHERE Region = 'EMEA'"),
  ("Number of APAC projects?", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS WHERE Region = 'APAC'"),
  ("How many projects run in the Americas?", "SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS WHERE Region = 'AMER'"))
I(("Which research projects are there?", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Research' ORDER BY Project_Code"),
  ("List capital projects.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Capital' ORDER BY Project_Code"),
  ("Show all maintenance projects.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Maintenance' ORDER BY Project_Code"))
I(("Which projects have no end date?", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE End_Date IS NULL ORDER BY Project_Code"),
  ("List open-ended projects.", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE End_Date IS NULL ORDER BY Project_Code"),
  ("Projects without a planned end date?", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE End_Date IS NULL ORDER BY Project_Code"))
I(("What is the budget of project PRJ-0007?", "SELECT Project_Code, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS WHERE Project_Code = 'PRJ-0007'"),
  ("Show the budget for PRJ-0042.", "SELECT Project_Code, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS WHERE Project_Code = 'PRJ-0042'"),
  ("How big is the budget of PRJ-0100?", "SELECT Project_Code, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS WHERE Project_Code = 'PRJ-0100'"))
I(("What is the remaining budget of each active project?", "SELECT Project_Code, Project_Name, Budget_Amount - Actual_Cost AS remaining_budget, Currency_Code FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY Project_Code"),
  ("How much budget is left on the active projects?", "SELECT Project_Code, Project_Name, Budget_Amount - Actual_Cost AS remaining_budget, Currency_Code FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY Project_Code"),
  ("Show the unspent budget of projects on hold.", "SELECT Project_Code, Project_Name, Budget_Amount - Actual_Cost AS remaining_budget, Currency_Code FROM PAC_MNT_PROJECTS WHERE Status = 'On Hold' ORDER BY Project_Code"))
I(("Which projects started in 2023?", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE Start_Date BETWEEN '2023-01-01' AND '2023-12-31' ORDER BY Start_Date"),
  ("List projects that began during 2021.", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE Start_Date BETWEEN '2021-01-01' AND '2021-12-31' ORDER BY Start_Date"),
  ("Projects kicked off in 2024?", "SELECT Project_Code, Project_Name, Start_Date FROM PAC_MNT_PROJECTS WHERE Start_Date BETWEEN '2024-01-01' AND '2024-12-31' ORDER BY Start_Date"))
I(("What are the 5 largest projects by budget?", "SELECT Project_Code, Project_Name, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS ORDER BY Budget_Amount DESC LIMIT 5"),
  ("Top 10 projects by budget.", "SELECT Project_Code, Project_Name, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS ORDER BY Budget_Amount DESC LIMIT 10"),
  ("Give me the three biggest budgets.", "SELECT Project_Code, Project_Name, Budget_Amount, Currency_Code FROM PAC_MNT_PROJECTS ORDER BY Budget_Amount DESC LIMIT 3"))
I(("How many projects does each department run?", "SELECT Department, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Department ORDER BY projects DESC"),
  ("Number of projects per department.", "SELECT Department, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Department ORDER BY projects DESC"),
  ("Break down the project count by department.", "SELECT Department, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Department ORDER BY projects DESC"))
I(("What is the total budget per currency?", "SELECT Currency_Code, SUM(Budget_Amount) AS total_budget FROM PAC_MNT_PROJECTS GROUP BY Currency_Code ORDER BY Currency_Code"),
  ("Sum of project budgets by currency.", "SELECT Currency_Code, SUM(Budget_Amount) AS total_budget FROM PAC_MNT_PROJECTS GROUP BY Currency_Code ORDER BY Currency_Code"),
  ("Total actual cost of projects in each currency.", "SELECT Currency_Code, SUM(Actual_Cost) AS total_cost FROM PAC_MNT_PROJECTS GROUP BY Currency_Code ORDER BY Currency_Code"))
I(("How many projects are in each status?", "SELECT Status, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY projects DESC"),
  ("Project count by status.", "SELECT Status, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY projects DESC"),
  ("How are projects distributed across statuses?", "SELECT Status, COUNT(*) AS projects FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY projects DESC"))
I(("Average budget of EUR projects?", "SELECT AVG(Budget_Amount) AS average_budget FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'EUR'"),
  ("What is the mean budget of projects in USD?", "SELECT AVG(Budget_Amount) AS average_budget FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'USD'"),
  ("Average project budget in GBP.", "SELECT AVG(Budget_Amount) AS average_budget FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'GBP'"))
I(("Which open projects are there?", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Status IN ('Planned', 'Active', 'On Hold') ORDER BY Project_Code"),
  ("List all projects that are not finished yet.", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Status IN ('Planned', 'Active', 'On Hold') ORDER BY Project_Code"),
  ("Show ongoing projects, including planned and paused ones.", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Status IN ('Planned', 'Active', 'On Hold') ORDER BY Project_Code"))
I(("Budget utilisation of each completed project?", "SELECT Project_Code, Actual_Cost / NULLIF(Budget_Amount, 0) AS budget_utilisation FROM PAC_MNT_PROJECTS WHERE Status = 'Completed' ORDER BY budget_utilisation DESC"),
  ("What is the burn rate of the active projects?", "SELECT Project_Code, Actual_Cost / NULLIF(Budget_Amount, 0) AS budget_utilisation FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY budget_utilisation DESC"),
  ("Show how much of their budget the on-hold projects have used.", "SELECT Project_Code, Actual_Cost / NULLIF(Budget_Amount, 0) AS budget_utilisation FROM PAC_MNT_PROJECTS WHERE Status = 'On Hold' ORDER BY budget_utilisation DESC"))

# ---- simple: resources
I(("How many employees do we have?", "SELECT COUNT(*) AS employees FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Employee'"),
  ("How many contractors are there?", "SELECT COUNT(*) AS contractors FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor'"),
  ("Count the internal employees.", "SELECT COUNT(*) AS employees FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Employee'"))
I(("List the contractors in the IT department.", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor' AND Department = 'IT' ORDER BY Resource_Code"),
  ("Which employees work in Finance?", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Employee' AND Department = 'Finance' ORDER BY Resource_Code"),
  ("Show contractors working for Marketing.", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor' AND Department = 'Marketing' ORDER BY Resource_Code"))
I(("What is the average hourly rate by job title?", "SELECT Job_Title, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Job_Title ORDER BY average_rate DESC"),
  ("Average hourly rate for each job title.", "SELECT Job_Title, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Job_Title ORDER BY average_rate DESC"),
  ("Mean rate per job title, highest first.", "SELECT Job_Title, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Job_Title ORDER BY average_rate DESC"))
I(("Who are the 10 most expensive resources?", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES ORDER BY Hourly_Rate DESC LIMIT 10"),
  ("Top 5 hourly rates among our people.", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES ORDER BY Hourly_Rate DESC LIMIT 5"),
  ("Which resources have the highest hourly rates? Show 8.", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES ORDER BY Hourly_Rate DESC LIMIT 8"))
I(("Which resources are inactive?", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Is_Active = 'N' ORDER BY Resource_Code"),
  ("List former staff.", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Is_Active = 'N' ORDER BY Resource_Code"),
  ("Who is no longer active?", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Is_Active = 'N' ORDER BY Resource_Code"))
I(("How many active staff are in each department?", "SELECT Department, COUNT(*) AS active_staff FROM PAC_MNT_RESOURCES WHERE Is_Active = 'Y' GROUP BY Department ORDER BY active_staff DESC"),
  ("Active headcount per department.", "SELECT Department, COUNT(*) AS active_staff FROM PAC_MNT_RESOURCES WHERE Is_Active = 'Y' GROUP BY Department ORDER BY active_staff DESC"),
  ("Number of current staff by department.", "SELECT Department, COUNT(*) AS active_staff FROM PAC_MNT_RESOURCES WHERE Is_Active = 'Y' GROUP BY Department ORDER BY active_staff DESC"))
I(("Who was hired after 2024-01-01?", "SELECT Resource_Code, First_Name, Last_Name, Hire_Date FROM PAC_MNT_RESOURCES WHERE Hire_Date > '2024-01-01' ORDER BY Hire_Date"),
  ("List resources hired since mid 2023.", "SELECT Resource_Code, First_Name, Last_Name, Hire_Date FROM PAC_MNT_RESOURCES WHERE Hire_Date >= '2023-07-01' ORDER BY Hire_Date"),
  ("New hires after 2025-01-01?", "SELECT Resource_Code, First_Name, Last_Name, Hire_Date FROM PAC_MNT_RESOURCES WHERE Hire_Date > '2025-01-01' ORDER BY Hire_Date"))
I(("What is the email of RES-0042?", "SELECT Resource_Code, Email FROM PAC_MNT_RESOURCES WHERE Resource_Code = 'RES-0042'"),
  ("Give me the e-mail address of RES-0101.", "SELECT Resource_Code, Email FROM PAC_MNT_RESOURCES WHERE Resource_Code = 'RES-0101'"),
  ("How do I email RES-0007?", "SELECT Resource_Code, Email FROM PAC_MNT_RESOURCES WHERE Resource_Code = 'RES-0007'"))
I(("Which data engineers do we have?", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Job_Title = 'Data Engineer' ORDER BY Resource_Code"),
  ("List the accountants.", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Job_Title = 'Accountant' ORDER BY Resource_Code"),
  ("Who are our solution architects?", "SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Job_Title = 'Solution Architect' ORDER BY Resource_Code"))
I(("How many people are in each cost center?", "SELECT Cost_Center, COUNT(*) AS people FROM PAC_MNT_RESOURCES GROUP BY Cost_Center ORDER BY Cost_Center"),
  ("Headcount by cost center.", "SELECT Cost_Center, COUNT(*) AS people FROM PAC_MNT_RESOURCES GROUP BY Cost_Center ORDER BY Cost_Center"),
  ("Resources per cost centre.", "SELECT Cost_Center, COUNT(*) AS people FROM PAC_MNT_RESOURCES GROUP BY Cost_Center ORDER BY Cost_Center"))
I(("Average hourly rate of contractors versus employees?", "SELECT Resource_Type, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Resource_Type"),
  ("Compare the mean rate of employees and contractors.", "SELECT Resource_Type, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Resource_Type"),
  ("What do contractors cost per hour on average compared with employees?", "SELECT Resource_Type, AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES GROUP BY Resource_Type"))

# ---- simple: companies and contacts
I(("How many suppliers are based in Germany?", "SELECT COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Country = 'Germany'"),
  ("Number of vendors in France?", "SELECT COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Country = 'France'"),
  ("How many suppliers do we have in Japan?", "SELECT COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Country = 'Japan'"))
I(("List blocked vendors.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Status = 'Blocked' ORDER BY Company_Code"),
  ("Which suppliers are blocked?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Status = 'Blocked' ORDER BY Company_Code"),
  ("Show inactive suppliers.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Status = 'Inactive' ORDER BY Company_Code"))
I(("Which clients have a credit limit above 1 million?", "SELECT Company_Code, Company_Name, Credit_Limit FROM SRM_COMPANIES WHERE Company_Type = 'Client' AND Credit_Limit > 1000000 ORDER BY Credit_Limit DESC"),
  ("Customers with credit limits over 2,000,000?", "SELECT Company_Code, Company_Name, Credit_Limit FROM SRM_COMPANIES WHERE Company_Type = 'Client' AND Credit_Limit > 2000000 ORDER BY Credit_Limit DESC"),
  ("Partners whose credit limit exceeds 500,000.", "SELECT Company_Code, Company_Name, Credit_Limit FROM SRM_COMPANIES WHERE Company_Type = 'Partner' AND Credit_Limit > 500000 ORDER BY Credit_Limit DESC"))
I(("Which suppliers are top-rated?", "SELECT Company_Code, Company_Name, Rating FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Rating >= 4 ORDER BY Rating DESC, Company_Code"),
  ("List highly rated vendors.", "SELECT Company_Code, Company_Name, Rating FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Rating >= 4 ORDER BY Rating DESC, Company_Code"),
  ("Show the best-rated partners.", "SELECT Company_Code, Company_Name, Rating FROM SRM_COMPANIES WHERE Company_Type = 'Partner' AND Rating >= 4 ORDER BY Rating DESC, Company_Code"))
I(("Which companies are not yet rated?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating IS NULL ORDER BY Company_Code"),
  ("Companies without a rating?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating IS NULL ORDER BY Company_Code"),
  ("List unrated companies.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating IS NULL ORDER BY Company_Code"))
I(("How many companies are in each industry?", "SELECT Industry, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Industry ORDER BY companies DESC"),
  ("Company count by industry.", "SELECT Industry, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Industry ORDER BY companies DESC"),
  ("Break down our counterparties by industry.", "SELECT Industry, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Industry ORDER BY companies DESC"))
I(("Which partners pay on NET90 terms?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Partner' AND Payment_Terms = 'NET90' ORDER BY Company_Code"),
  ("Suppliers with NET15 payment terms?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Payment_Terms = 'NET15' ORDER BY Company_Code"),
  ("Clients on NET60.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Client' AND Payment_Terms = 'NET60' ORDER BY Company_Code"))
I(("Which companies are located in London?", "SELECT Company_Code, Company_Name, Company_Type FROM SRM_COMPANIES WHERE City = 'London' ORDER BY Company_Code"),
  ("Companies based in Tokyo?", "SELECT Company_Code, Company_Name, Company_Type FROM SRM_COMPANIES WHERE City = 'Tokyo' ORDER BY Company_Code"),
  ("Show the companies in Berlin.", "SELECT Company_Code, Company_Name, Company_Type FROM SRM_COMPANIES WHERE City = 'Berlin' ORDER BY Company_Code"))
I(("Average rating of companies per country.", "SELECT Country, AVG(Rating) AS average_rating FROM SRM_COMPANIES GROUP BY Country ORDER BY average_rating DESC"),
  ("What is the mean rating in each country?", "SELECT Country, AVG(Rating) AS average_rating FROM SRM_COMPANIES GROUP BY Country ORDER BY average_rating DESC"),
  ("Rank countries by their companies' average rating.", "SELECT Country, AVG(Rating) AS average_rating FROM SRM_COMPANIES GROUP BY Country ORDER BY average_rating DESC"))
I(("Who is the primary contact of CMP-012?", "SELECT First_Name, Last_Name, Email, Phone FROM SRM_CONTACTS WHERE Company_Code = 'CMP-012' AND Is_Primary = 'Y'"),
  ("Main contact at CMP-030?", "SELECT First_Name, Last_Name, Email, Phone FROM SRM_CONTACTS WHERE Company_Code = 'CMP-030' AND Is_Primary = 'Y'"),
  ("Give me the key contact for CMP-005.", "SELECT First_Name, Last_Name, Email, Phone FROM SRM_CONTACTS WHERE Company_Code = 'CMP-005' AND Is_Primary = 'Y'"))
I(("Which contacts have no phone number?", "SELECT Contact_Id, First_Name, Last_Name, Email FROM SRM_CONTACTS WHERE Phone IS NULL ORDER BY Contact_Id"),
  ("Contacts missing a phone?", "SELECT Contact_Id, First_Name, Last_Name, Email FROM SRM_CONTACTS WHERE Phone IS NULL ORDER BY Contact_Id"),
  ("List contacts we cannot call.", "SELECT Contact_Id, First_Name, Last_Name, Email FROM SRM_CONTACTS WHERE Phone IS NULL ORDER BY Contact_Id"))
I(("How many contacts have each title?", "SELECT Title, COUNT(*) AS contacts FROM SRM_CONTACTS GROUP BY Title ORDER BY contacts DESC"),
  ("Contact count by job title.", "SELECT Title, COUNT(*) AS contacts FROM SRM_CONTACTS GROUP BY Title ORDER BY contacts DESC"),
  ("Which contact titles are most common?", "SELECT Title, COUNT(*) AS contacts FROM SRM_CONTACTS GROUP BY Title ORDER BY contacts DESC"))
I(("List all contacts of CMP-001.", "SELECT Contact_Id, First_Name, Last_Name, Title, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-001' ORDER BY Contact_Id"),
  ("Who can we talk to at CMP-044?", "SELECT Contact_Id, First_Name, Last_Name, Title, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-044' ORDER BY Contact_Id"),
  ("Show every contact person at CMP-060.", "SELECT Contact_Id, First_Name, Last_Name, Title, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-060' ORDER BY Contact_Id"))
