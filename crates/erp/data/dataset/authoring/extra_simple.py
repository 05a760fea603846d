from train1 import I
from dev import D
# ---- more simple TRAIN intents
I(("Which projects have a budget above 3 million?", "SELECT Project_Code, Project_Name, Budget_Amount FROM PAC_MNT_PROJECTS WHERE Budget_Amount > 3000000 ORDER BY Budget_Amount DESC"),
  ("Projects budgeted over 4,000,000.", "SELECT Project_Code, Project_Name, Budget_Amount FROM PAC_MNT_PROJECTS WHERE Budget_Amount > 4000000 ORDER BY Budget_Amount DESC"),
  ("List projects with budgets greater than 2.5 million.", "SELECT Project_Code, Project_Name, Budget_Amount FROM PAC_MNT_PROJECTS WHERE Budget_Amount > 2500000 ORDER BY Budget_Amount DESC"))
I(("How many companies are blocked?", "SELECT COUNT(*) AS companies FROM SRM_COMPANIES WHERE Status = 'Blocked'"),
  ("Number of inactive companies?", "SELECT COUNT(*) AS companies FROM SRM_COMPANIES WHERE Status = 'Inactive'"),
  ("How many counterparties are active?", "SELECT COUNT(*) AS companies FROM SRM_COMPANIES WHERE Status = 'Active'"))
I(("Which resources have an hourly rate below 40?", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES WHERE Hourly_Rate < 40 ORDER BY Hourly_Rate"),
  ("People costing less than 30 per hour.", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES WHERE Hourly_Rate < 30 ORDER BY Hourly_Rate"),
  ("Resources with rates under 50 an hour.", "SELECT Resource_Code, First_Name, Last_Name, Hourly_Rate FROM PAC_MNT_RESOURCES WHERE Hourly_Rate < 50 ORDER BY Hourly_Rate"))
I(("What is the total hours worked across all assignments?", "SELECT SUM(Hours_Worked) AS total_hours FROM PROJSTAFF"),
  ("Total hours booked on every project together.", "SELECT SUM(Hours_Worked) AS total_hours FROM PROJSTAFF"),
  ("Sum of all hours worked.", "SELECT SUM(Hours_Worked) AS total_hours FROM PROJSTAFF"))
I(("How many contracts do we have in JPY?", "SELECT COUNT(*) AS contracts FROM PROJCNTRTS WHERE Currency_Code = 'JPY'"),
  ("Number of SGD contracts?", "SELECT COUNT(*) AS contracts FROM PROJCNTRTS WHERE Currency_Code = 'SGD'"),
  ("Count contracts in GBP.", "SELECT COUNT(*) AS contracts FROM PROJCNTRTS WHERE Currency_Code = 'GBP'"))
I(("Which companies are in the Healthcare industry?", "SELECT Company_Code, Company_Name, Country FROM SRM_COMPANIES WHERE Industry = 'Healthcare' ORDER BY Company_Code"),
  ("List the Energy companies.", "SELECT Company_Code, Company_Name, Country FROM SRM_COMPANIES WHERE Industry = 'Energy' ORDER BY Company_Code"),
  ("Show Retail companies.", "SELECT Company_Code, Company_Name, Country FROM SRM_COMPANIES WHERE Industry = 'Retail' ORDER BY Company_Code"))
I(("Assignments with 100% allocation.", "SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Allocation_Pct = 100 ORDER BY Assignment_Id"),
  ("Who is fully allocated on an assignment?", "SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Allocation_Pct = 100 ORDER BY Assignment_Id"),
  ("Assignments at 50 percent allocation.", "SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Allocation_Pct = 50 ORDER BY Assignment_Id"))
I(("Which contracts are worth more than 1.5 million?", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Contract_Value > 1500000 ORDER BY Contract_Value DESC"),
  ("Contracts above 1,800,000 in value.", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Contract_Value > 1800000 ORDER BY Contract_Value DESC"),
  ("List contracts worth over one million.", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Contract_Value > 1000000 ORDER BY Contract_Value DESC"))

# ---- more simple DEV intents (skeletons not used in train)
D(("What is the highest hourly rate we pay?", "SELECT MAX(Hourly_Rate) AS highest_rate FROM PAC_MNT_RESOURCES"),
  ("Maximum hourly rate of any resource?", "SELECT MAX(Hourly_Rate) AS highest_rate FROM PAC_MNT_RESOURCES"),
  ("Top hourly rate on record.", "SELECT MAX(Hourly_Rate) AS highest_rate FROM PAC_MNT_RESOURCES"))
D(("How many contacts are there altogether?", "SELECT COUNT(*) AS contacts FROM SRM_CONTACTS"),
  ("Total number of contact persons?", "SELECT COUNT(*) AS contacts FROM SRM_CONTACTS"),
  ("Count all contacts.", "SELECT COUNT(*) AS contacts FROM SRM_CONTACTS"))
D(("Which companies have a rating of exactly 5?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating = 5 ORDER BY Company_Code"),
  ("Companies rated 1, the lowest grade.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating = 1 ORDER BY Company_Code"),
  ("Which counterparties have a rating of 3?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating = 3 ORDER BY Company_Code"))
D(("Projects managed by RES-0183.", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Manager_Code = 'RES-0183' ORDER BY Project_Code"),
  ("Which projects does RES-0234 manage?", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Manager_Code = 'RES-0234' ORDER BY Project_Code"),
  ("Projects with RES-0041 as manager.", "SELECT Project_Code, Project_Name, Status FROM PAC_MNT_PROJECTS WHERE Manager_Code = 'RES-0041' ORDER BY Project_Code"))
D(("Total invoiced amount on all EUR contracts.", "SELECT SUM(Invoiced_Amount) AS invoiced FROM PROJCNTRTS WHERE Currency_Code = 'EUR'"),
  ("How much have we invoiced in USD overall?", "SELECT SUM(Invoiced_Amount) AS invoiced FROM PROJCNTRTS WHERE Currency_Code = 'USD'"),
  ("Sum invoiced across SGD contracts.", "SELECT SUM(Invoiced_Amount) AS invoiced FROM PROJCNTRTS WHERE Currency_Code = 'SGD'"))
D(("Resources whose last name is Smith.", "SELECT Resource_Code, First_Name, Job_Title FROM PAC_MNT_RESOURCES WHERE Last_Name = 'Smith' ORDER BY Resource_Code"),
  ("Find everyone called Patel.", "SELECT Resource_Code, First_Name, Job_Title FROM PAC_MNT_RESOURCES WHERE Last_Name = 'Patel' ORDER BY Resource_Code"),
  ("People with the surname Tanaka.", "SELECT Resource_Code, First_Name, Job_Title FROM PAC_MNT_RESOURCES WHERE Last_Name = 'Tanaka' ORDER BY Resource_Code"))
D(("Assignments that started after 2025-06-01.", "SELECT Assignment_Id, Project_Code, Start_Date FROM PROJSTAFF WHERE Start_Date > '2025-06-01' ORDER BY Start_Date"),
  ("Which assignments began in the last months of 2025, after October 1st?", "SELECT Assignment_Id, Project_Code, Start_Date FROM PROJSTAFF WHERE Start_Date > '2025-10-01' ORDER BY Start_Date"),
  ("Assignments starting after 2025-03-31.", "SELECT Assignment_Id, Project_Code, Start_Date FROM PROJSTAFF WHERE Start_Date > '2025-03-31' ORDER BY Start_Date"))
D(("Average credit limit of all companies.", "SELECT AVG(Credit_Limit) AS average_credit_limit FROM SRM_COMPANIES"),
  ("What is the mean credit limit?", "SELECT AVG(Credit_Limit) AS average_credit_limit FROM SRM_COMPANIES"),
  ("Typical (average) credit limit across counterparties.", "SELECT AVG(Credit_Limit) AS average_credit_limit FROM SRM_COMPANIES"))
D(("Contacts whose email ends with .example and who are primary, for CMP-020.", "SELECT Contact_Id, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-020' AND Email LIKE '%.example' ORDER BY Contact_Id"),
  ("Email addresses of CMP-033's contacts.", "SELECT Contact_Id, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-033' AND Email LIKE '%.example' ORDER BY Contact_Id"),
  ("Emails of contacts at CMP-070.", "SELECT Contact_Id, Email FROM SRM_CONTACTS WHERE Company_Code = 'CMP-070' AND Email LIKE '%.example' ORDER BY Contact_Id"))
D(("Contracts starting in 2025 that are still drafts.", "SELECT Contract_Number, Start_Date FROM PROJCNTRTS WHERE Status = 'Draft' AND Start_Date >= '2025-01-01' ORDER BY Start_Date"),
  ("Draft contracts with a start date from 2024 onwards.", "SELECT Contract_Number, Start_Date FROM PROJCNTRTS WHERE Status = 'Draft' AND Start_Date >= '2024-01-01' ORDER BY Start_Date"),
  ("Which terminated contracts started in 2023 or later?", "SELECT Contract_Number, Start_Date FROM PROJCNTRTS WHERE Status = 'Terminated' AND Start_Date >= '2023-01-01' ORDER BY Start_Date"))
