from train1 import I, TRAIN
I(("Earliest and latest project start dates.", "SELECT MIN(Start_Date) AS first_start, MAX(Start_Date) AS last_start FROM PAC_MNT_PROJECTS"),
  ("When did the first and the most recent project start?", "SELECT MIN(Start_Date) AS first_start, MAX(Start_Date) AS last_start FROM PAC_MNT_PROJECTS"),
  ("Range of project start dates.", "SELECT MIN(Start_Date) AS first_start, MAX(Start_Date) AS last_start FROM PAC_MNT_PROJECTS"))
I(("Projects in the Legal department that are active.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Department = 'Legal' AND Status = 'Active' ORDER BY Project_Code"),
  ("Active Procurement projects?", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Department = 'Procurement' AND Status = 'Active' ORDER BY Project_Code"),
  ("Which Sales projects are completed?", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Department = 'Sales' AND Status = 'Completed' ORDER BY Project_Code"))
I(("Total overrun amount of over-budget projects per currency.", "SELECT Currency_Code, SUM(Actual_Cost - Budget_Amount) AS overrun FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount GROUP BY Currency_Code ORDER BY Currency_Code"),
  ("By how much did overrunning projects exceed budget, per currency?", "SELECT Currency_Code, SUM(Actual_Cost - Budget_Amount) AS overrun FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount GROUP BY Currency_Code ORDER BY Currency_Code"),
  ("Sum of budget overruns in each currency.", "SELECT Currency_Code, SUM(Actual_Cost - Budget_Amount) AS overrun FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount GROUP BY Currency_Code ORDER BY Currency_Code"))
I(("Contracts of CMP-003.", "SELECT Contract_Number, Project_Code, Contract_Value, Status FROM PROJCNTRTS WHERE Company_Code = 'CMP-003' ORDER BY Contract_Number"),
  ("What contracts do we have with CMP-027?", "SELECT Contract_Number, Project_Code, Contract_Value, Status FROM PROJCNTRTS WHERE Company_Code = 'CMP-027' ORDER BY Contract_Number"),
  ("List CMP-050's contracts.", "SELECT Contract_Number, Project_Code, Contract_Value, Status FROM PROJCNTRTS WHERE Company_Code = 'CMP-050' ORDER BY Contract_Number"))
I(("Contracts on project PRJ-0001.", "SELECT Contract_Number, Company_Code, Contract_Type, Contract_Value FROM PROJCNTRTS WHERE Project_Code = 'PRJ-0001' ORDER BY Contract_Number"),
  ("Which contracts belong to PRJ-0015?", "SELECT Contract_Number, Company_Code, Contract_Type, Contract_Value FROM PROJCNTRTS WHERE Project_Code = 'PRJ-0015' ORDER BY Contract_Number"),
  ("Show PRJ-0064's contracts.", "SELECT Contract_Number, Company_Code, Contract_Type, Contract_Value FROM PROJCNTRTS WHERE Project_Code = 'PRJ-0064' ORDER BY Contract_Number"))
I(("Who is assigned to PRJ-0002 and in which role?", "SELECT Resource_Code, Role, Allocation_Pct FROM PROJSTAFF WHERE Project_Code = 'PRJ-0002' ORDER BY Resource_Code"),
  ("Staffing of PRJ-0030 with roles.", "SELECT Resource_Code, Role, Allocation_Pct FROM PROJSTAFF WHERE Project_Code = 'PRJ-0030' ORDER BY Resource_Code"),
  ("Roles and allocations on PRJ-0088.", "SELECT Resource_Code, Role, Allocation_Pct FROM PROJSTAFF WHERE Project_Code = 'PRJ-0088' ORDER BY Resource_Code"))
I(("How many companies per country?", "SELECT Country, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Country ORDER BY companies DESC"),
  ("Company count by country.", "SELECT Country, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Country ORDER BY companies DESC"),
  ("In which countries do we have most counterparties?", "SELECT Country, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Country ORDER BY companies DESC"))
I(("Suppliers per payment term.", "SELECT Payment_Terms, COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' GROUP BY Payment_Terms ORDER BY Payment_Terms"),
  ("How are vendors distributed over payment terms?", "SELECT Payment_Terms, COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' GROUP BY Payment_Terms ORDER BY Payment_Terms"),
  ("Clients by payment terms.", "SELECT Payment_Terms, COUNT(*) AS suppliers FROM SRM_COMPANIES WHERE Company_Type = 'Client' GROUP BY Payment_Terms ORDER BY Payment_Terms"))
I(("Average allocation per role on active assignments.", "SELECT Role, AVG(Allocation_Pct) AS average_allocation FROM PROJSTAFF WHERE End_Date IS NULL GROUP BY Role ORDER BY Role"),
  ("Mean allocation by role for running assignments.", "SELECT Role, AVG(Allocation_Pct) AS average_allocation FROM PROJSTAFF WHERE End_Date IS NULL GROUP BY Role ORDER BY Role"),
  ("How allocated is each role on open assignments?", "SELECT Role, AVG(Allocation_Pct) AS average_allocation FROM PROJSTAFF WHERE End_Date IS NULL GROUP BY Role ORDER BY Role"))
I(("Largest contract values signed in 2025.", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Sign_Date >= '2025-01-01' ORDER BY Contract_Value DESC LIMIT 10"),
  ("Top 5 contracts signed since 2024.", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Sign_Date >= '2024-01-01' ORDER BY Contract_Value DESC LIMIT 5"),
  ("Biggest contracts signed from 2023 on, top 10.", "SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Sign_Date >= '2023-01-01' ORDER BY Contract_Value DESC LIMIT 10"))
I(("Average hourly rate of active contractors.", "SELECT AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor' AND Is_Active = 'Y'"),
  ("What do our current employees cost per hour on average?", "SELECT AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Employee' AND Is_Active = 'Y'"),
  ("Mean rate of inactive contractors.", "SELECT AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor' AND Is_Active = 'N'"))
I(("Project names containing 'Portal'.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Name LIKE '%Portal%' ORDER BY Project_Code"),
  ("Which projects are about CRM?", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Name LIKE '%CRM%' ORDER BY Project_Code"),
  ("Find analytics projects by name.", "SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Name LIKE '%Analytics%' ORDER BY Project_Code"))
I(("Companies whose name ends with GmbH.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Name LIKE '%GmbH' ORDER BY Company_Code"),
  ("Which company names end in Ltd?", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Name LIKE '%Ltd' ORDER BY Company_Code"),
  ("Companies registered as Inc.", "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Name LIKE '%Inc' ORDER BY Company_Code"))
I(("Number of contracts per project type.", "SELECT p.Project_Type, COUNT(t.Contract_Number) AS contracts FROM PAC_MNT_PROJECTS p JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY p.Project_Type ORDER BY contracts DESC"),
  ("How many contracts does each project type have?", "SELECT p.Project_Type, COUNT(t.Contract_Number) AS contracts FROM PAC_MNT_PROJECTS p JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY p.Project_Type ORDER BY contracts DESC"),
  ("Contract count by the type of project.", "SELECT p.Project_Type, COUNT(t.Contract_Number) AS contracts FROM PAC_MNT_PROJECTS p JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY p.Project_Type ORDER BY contracts DESC"))
