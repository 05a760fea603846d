-- Legitimate analytical queries over the ERP: none may be rejected by the
-- validator, and each runs on the demo database. One per line.
SELECT Status, COUNT(*) AS n FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY n DESC
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Planned' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'On Hold' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Completed' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = 'Cancelled' ORDER BY 1 LIMIT 100
SELECT Project_Type, COUNT(*) AS n FROM PAC_MNT_PROJECTS GROUP BY Project_Type ORDER BY n DESC
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Capital' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Operational' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Research' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Consulting' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Project_Type = 'Maintenance' ORDER BY 1 LIMIT 100
SELECT Region, COUNT(*) AS n FROM PAC_MNT_PROJECTS GROUP BY Region ORDER BY n DESC
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Region = 'EMEA' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Region = 'APAC' ORDER BY 1 LIMIT 100
SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Region = 'AMER' ORDER BY 1 LIMIT 100
SELECT Resource_Type, COUNT(*) AS n FROM PAC_MNT_RESOURCES GROUP BY Resource_Type ORDER BY n DESC
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Employee' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Resource_Type = 'Contractor' ORDER BY 1 LIMIT 100
SELECT Department, COUNT(*) AS n FROM PAC_MNT_RESOURCES GROUP BY Department ORDER BY n DESC
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Finance' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Engineering' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'IT' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Operations' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Sales' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Marketing' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Human Resources' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Legal' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Procurement' ORDER BY 1 LIMIT 100
SELECT Resource_Code, First_Name, Last_Name FROM PAC_MNT_RESOURCES WHERE Department = 'Research' ORDER BY 1 LIMIT 100
SELECT Company_Type, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY Company_Type ORDER BY n DESC
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Client' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = 'Partner' ORDER BY 1 LIMIT 100
SELECT Country, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY Country ORDER BY n DESC
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'Germany' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'France' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'Japan' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'India' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'United States' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'Brazil' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'United Kingdom' ORDER BY 1 LIMIT 100
SELECT Status, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY Status ORDER BY n DESC
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Status = 'Active' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Status = 'Inactive' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Status = 'Blocked' ORDER BY 1 LIMIT 100
SELECT Payment_Terms, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY Payment_Terms ORDER BY n DESC
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Payment_Terms = 'NET15' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Payment_Terms = 'NET30' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Payment_Terms = 'NET45' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Payment_Terms = 'NET60' ORDER BY 1 LIMIT 100
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Payment_Terms = 'NET90' ORDER BY 1 LIMIT 100
SELECT Role, COUNT(*) AS n FROM PROJSTAFF GROUP BY Role ORDER BY n DESC
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Project Manager' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Developer' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Analyst' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Consultant' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Engineer' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Tester' ORDER BY 1 LIMIT 100
SELECT Assignment_Id, Project_Code, Resource_Code FROM PROJSTAFF WHERE Role = 'Architect' ORDER BY 1 LIMIT 100
SELECT Contract_Type, COUNT(*) AS n FROM PROJCNTRTS GROUP BY Contract_Type ORDER BY n DESC
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Contract_Type = 'Fixed Price' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Contract_Type = 'Time and Materials' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Contract_Type = 'Cost Plus' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Contract_Type = 'Retainer' ORDER BY 1 LIMIT 100
SELECT Status, COUNT(*) AS n FROM PROJCNTRTS GROUP BY Status ORDER BY n DESC
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Status = 'Draft' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Status = 'Active' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Status = 'Closed' ORDER BY 1 LIMIT 100
SELECT Contract_Number, Project_Code, Company_Code FROM PROJCNTRTS WHERE Status = 'Terminated' ORDER BY 1 LIMIT 100
SELECT Currency_Code, SUM(Budget_Amount) AS total, AVG(Budget_Amount) AS average FROM PAC_MNT_PROJECTS GROUP BY Currency_Code
SELECT Currency_Code, Status, SUM(Budget_Amount) AS total FROM PAC_MNT_PROJECTS GROUP BY Currency_Code, Status ORDER BY Currency_Code, total DESC
SELECT MAX(Budget_Amount) AS largest, MIN(Budget_Amount) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'USD'
SELECT MAX(Budget_Amount) AS largest, MIN(Budget_Amount) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'EUR'
SELECT MAX(Budget_Amount) AS largest, MIN(Budget_Amount) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'GBP'
SELECT MAX(Budget_Amount) AS largest, MIN(Budget_Amount) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'JPY'
SELECT MAX(Budget_Amount) AS largest, MIN(Budget_Amount) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'SGD'
SELECT Currency_Code, SUM(Actual_Cost) AS total, AVG(Actual_Cost) AS average FROM PAC_MNT_PROJECTS GROUP BY Currency_Code
SELECT Currency_Code, Status, SUM(Actual_Cost) AS total FROM PAC_MNT_PROJECTS GROUP BY Currency_Code, Status ORDER BY Currency_Code, total DESC
SELECT MAX(Actual_Cost) AS largest, MIN(Actual_Cost) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'USD'
SELECT MAX(Actual_Cost) AS largest, MIN(Actual_Cost) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'EUR'
SELECT MAX(Actual_Cost) AS largest, MIN(Actual_Cost) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'GBP'
SELECT MAX(Actual_Cost) AS largest, MIN(Actual_Cost) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'JPY'
SELECT MAX(Actual_Cost) AS largest, MIN(Actual_Cost) AS smallest FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'SGD'
SELECT Currency_Code, SUM(Contract_Value) AS total, AVG(Contract_Value) AS average FROM PROJCNTRTS GROUP BY Currency_Code
SELECT Currency_Code, Status, SUM(Contract_Value) AS total FROM PROJCNTRTS GROUP BY Currency_Code, Status ORDER BY Currency_Code, total DESC
SELECT MAX(Contract_Value) AS largest, MIN(Contract_Value) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'USD'
SELECT MAX(Contract_Value) AS largest, MIN(Contract_Value) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'EUR'
SELECT MAX(Contract_Value) AS largest, MIN(Contract_Value) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'GBP'
SELECT MAX(Contract_Value) AS largest, MIN(Contract_Value) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'JPY'
SELECT MAX(Contract_Value) AS largest, MIN(Contract_Value) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'SGD'
SELECT Currency_Code, SUM(Invoiced_Amount) AS total, AVG(Invoiced_Amount) AS average FROM PROJCNTRTS GROUP BY Currency_Code
SELECT Currency_Code, Status, SUM(Invoiced_Amount) AS total FROM PROJCNTRTS GROUP BY Currency_Code, Status ORDER BY Currency_Code, total DESC
SELECT MAX(Invoiced_Amount) AS largest, MIN(Invoiced_Amount) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'USD'
SELECT MAX(Invoiced_Amount) AS largest, MIN(Invoiced_Amount) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'EUR'
SELECT MAX(Invoiced_Amount) AS largest, MIN(Invoiced_Amount) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'GBP'
SELECT MAX(Invoiced_Amount) AS largest, MIN(Invoiced_Amount) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'JPY'
SELECT MAX(Invoiced_Amount) AS largest, MIN(Invoiced_Amount) AS smallest FROM PROJCNTRTS WHERE Currency_Code = 'SGD'
SELECT Project_Code, Project_Name, Actual_Cost - Budget_Amount AS overrun FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount ORDER BY overrun DESC LIMIT 20
SELECT Project_Code, Budget_Amount - Actual_Cost AS remaining FROM PAC_MNT_PROJECTS WHERE Status IN ('Planned', 'Active', 'On Hold') ORDER BY remaining
SELECT Project_Code, ROUND(Actual_Cost / NULLIF(Budget_Amount, 0), 3) AS burn_rate FROM PAC_MNT_PROJECTS WHERE Status = 'Active' ORDER BY burn_rate DESC LIMIT 10
SELECT Department, COUNT(*) AS projects, SUM(CASE WHEN Actual_Cost > Budget_Amount THEN 1 ELSE 0 END) AS over_budget FROM PAC_MNT_PROJECTS GROUP BY Department
SELECT Region, Currency_Code, SUM(Budget_Amount) AS budget FROM PAC_MNT_PROJECTS GROUP BY Region, Currency_Code
SELECT strftime('%Y', Start_Date) AS year, COUNT(*) AS started FROM PAC_MNT_PROJECTS GROUP BY year ORDER BY year
SELECT Project_Code, Start_Date, End_Date FROM PAC_MNT_PROJECTS WHERE End_Date IS NULL ORDER BY Start_Date LIMIT 50
SELECT Project_Code FROM PAC_MNT_PROJECTS WHERE Start_Date BETWEEN '2023-01-01' AND '2023-12-31'
SELECT p.Project_Code, p.Project_Name, r.First_Name, r.Last_Name FROM PAC_MNT_PROJECTS p JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = p.Manager_Code WHERE p.Status = 'Active'
SELECT r.Resource_Code, r.Last_Name, COUNT(*) AS managed FROM PAC_MNT_RESOURCES r JOIN PAC_MNT_PROJECTS p ON p.Manager_Code = r.Resource_Code GROUP BY r.Resource_Code, r.Last_Name HAVING COUNT(*) > 2 ORDER BY managed DESC
SELECT p.Project_Code FROM PAC_MNT_PROJECTS p LEFT JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = p.Manager_Code WHERE r.Resource_Code IS NULL
SELECT p.Project_Code, COUNT(DISTINCT s.Resource_Code) AS headcount FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code GROUP BY p.Project_Code ORDER BY headcount DESC LIMIT 10
SELECT p.Department, SUM(s.Hours_Worked) AS hours FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code GROUP BY p.Department
SELECT s.Project_Code, SUM(s.Hours_Worked * s.Bill_Rate) AS billings FROM PROJSTAFF s GROUP BY s.Project_Code ORDER BY billings DESC LIMIT 15
SELECT s.Project_Code, SUM(s.Hours_Worked * r.Hourly_Rate) AS labour_cost FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code GROUP BY s.Project_Code
SELECT s.Assignment_Id, s.Hours_Worked * (s.Bill_Rate - r.Hourly_Rate) AS margin FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code ORDER BY margin DESC LIMIT 25
SELECT r.Resource_Code, r.Last_Name FROM PAC_MNT_RESOURCES r WHERE NOT EXISTS (SELECT 1 FROM PROJSTAFF s WHERE s.Resource_Code = r.Resource_Code)
SELECT r.Resource_Code FROM PAC_MNT_RESOURCES r LEFT JOIN PROJSTAFF s ON s.Resource_Code = r.Resource_Code WHERE s.Assignment_Id IS NULL
SELECT Resource_Code FROM PAC_MNT_RESOURCES EXCEPT SELECT Resource_Code FROM PROJSTAFF
SELECT Resource_Code FROM PROJSTAFF WHERE Role = 'Architect' INTERSECT SELECT Resource_Code FROM PROJSTAFF WHERE Role = 'Developer'
SELECT Department, AVG(Hourly_Rate) AS avg_rate FROM PAC_MNT_RESOURCES GROUP BY Department ORDER BY avg_rate DESC
SELECT Job_Title, Resource_Type, AVG(Hourly_Rate) AS avg_rate FROM PAC_MNT_RESOURCES GROUP BY Job_Title, Resource_Type
SELECT Resource_Code, Last_Name, Hourly_Rate, RANK() OVER (PARTITION BY Department ORDER BY Hourly_Rate DESC) AS rate_rank FROM PAC_MNT_RESOURCES LIMIT 100
SELECT Resource_Code, Hire_Date, ROW_NUMBER() OVER (ORDER BY Hire_Date) AS seniority FROM PAC_MNT_RESOURCES WHERE Is_Active = 'Y' LIMIT 50
SELECT Cost_Center, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Is_Active = 'Y' GROUP BY Cost_Center
SELECT Resource_Code, Email FROM PAC_MNT_RESOURCES WHERE Hire_Date >= '2024-01-01' ORDER BY Hire_Date
SELECT c.Company_Code, c.Company_Name, COUNT(k.Contact_Id) AS contacts FROM SRM_COMPANIES c LEFT JOIN SRM_CONTACTS k ON k.Company_Code = c.Company_Code GROUP BY c.Company_Code, c.Company_Name
SELECT c.Company_Name, k.First_Name, k.Last_Name, k.Email FROM SRM_COMPANIES c JOIN SRM_CONTACTS k ON k.Company_Code = c.Company_Code WHERE k.Is_Primary = 'Y' AND c.Company_Type = 'Supplier'
SELECT c.Company_Code FROM SRM_COMPANIES c WHERE NOT EXISTS (SELECT 1 FROM SRM_CONTACTS k WHERE k.Company_Code = c.Company_Code AND k.Is_Primary = 'Y')
SELECT Contact_Id, Email FROM SRM_CONTACTS WHERE Phone IS NULL
SELECT Title, COUNT(*) AS n FROM SRM_CONTACTS GROUP BY Title ORDER BY n DESC
SELECT Company_Code, Company_Name, Rating FROM SRM_COMPANIES WHERE Rating >= 4 AND Company_Type = 'Supplier' ORDER BY Rating DESC
SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Rating IS NULL
SELECT Industry, AVG(Rating) AS avg_rating, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Industry
SELECT Country, City, COUNT(*) AS companies FROM SRM_COMPANIES GROUP BY Country, City ORDER BY Country
SELECT Company_Code, Credit_Limit FROM SRM_COMPANIES WHERE Credit_Limit > 1000000 ORDER BY Credit_Limit DESC
SELECT c.Company_Code FROM SRM_COMPANIES c WHERE NOT EXISTS (SELECT 1 FROM PROJCNTRTS t WHERE t.Company_Code = c.Company_Code)
SELECT c.Company_Code FROM SRM_COMPANIES c WHERE c.Company_Code NOT IN (SELECT t.Company_Code FROM PROJCNTRTS t)
SELECT c.Company_Name, t.Currency_Code, SUM(t.Contract_Value) AS value FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code GROUP BY c.Company_Name, t.Currency_Code ORDER BY value DESC LIMIT 20
SELECT c.Country, t.Currency_Code, SUM(t.Contract_Value - t.Invoiced_Amount) AS outstanding FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code WHERE t.Status = 'Active' GROUP BY c.Country, t.Currency_Code
SELECT DISTINCT c.Company_Code, c.Company_Name FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = t.Project_Code WHERE c.Country = 'Germany' AND c.Company_Type = 'Supplier' AND t.Status = 'Active' AND p.Actual_Cost > p.Budget_Amount
SELECT Contract_Number, Contract_Value, Invoiced_Amount FROM PROJCNTRTS WHERE Invoiced_Amount > Contract_Value
SELECT Contract_Number, Contract_Value - Invoiced_Amount AS outstanding FROM PROJCNTRTS WHERE Status = 'Active' ORDER BY outstanding DESC LIMIT 10
SELECT strftime('%Y', Sign_Date) AS year, Currency_Code, SUM(Contract_Value) AS signed FROM PROJCNTRTS GROUP BY year, Currency_Code ORDER BY year
SELECT Contract_Number, Sign_Date, SUM(Contract_Value) OVER (ORDER BY Sign_Date, Contract_Number) AS running_value FROM PROJCNTRTS WHERE Currency_Code = 'USD' LIMIT 100
SELECT Contract_Number, Contract_Value, DENSE_RANK() OVER (PARTITION BY Contract_Type ORDER BY Contract_Value DESC) AS rk FROM PROJCNTRTS LIMIT 100
SELECT Contract_Type, COUNT(*) AS n, AVG(Contract_Value) AS avg_value FROM PROJCNTRTS WHERE Currency_Code = 'EUR' GROUP BY Contract_Type
SELECT Contract_Number FROM PROJCNTRTS WHERE End_Date IS NULL AND Status = 'Draft'
SELECT p.Project_Code, COUNT(t.Contract_Number) AS contracts FROM PAC_MNT_PROJECTS p LEFT JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY p.Project_Code HAVING COUNT(t.Contract_Number) = 0
SELECT p.Project_Code, p.Currency_Code, p.Budget_Amount, SUM(t.Contract_Value) AS contracted FROM PAC_MNT_PROJECTS p JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY p.Project_Code, p.Currency_Code, p.Budget_Amount HAVING SUM(t.Contract_Value) > p.Budget_Amount
WITH spend AS (SELECT Project_Code, SUM(Contract_Value) AS contracted FROM PROJCNTRTS GROUP BY Project_Code) SELECT p.Project_Code, p.Budget_Amount, s.contracted FROM PAC_MNT_PROJECTS p JOIN spend s ON s.Project_Code = p.Project_Code ORDER BY s.contracted DESC LIMIT 10
WITH hours AS (SELECT Resource_Code, SUM(Hours_Worked) AS h FROM PROJSTAFF GROUP BY Resource_Code) SELECT r.Resource_Code, r.Last_Name, hours.h FROM PAC_MNT_RESOURCES r JOIN hours ON hours.Resource_Code = r.Resource_Code ORDER BY hours.h DESC LIMIT 10
WITH ranked AS (SELECT Project_Code, Region, Budget_Amount, ROW_NUMBER() OVER (PARTITION BY Region ORDER BY Budget_Amount DESC) AS rn FROM PAC_MNT_PROJECTS) SELECT Project_Code, Region, Budget_Amount FROM ranked WHERE rn = 1
WITH t AS (SELECT Company_Code, COUNT(*) AS n FROM PROJCNTRTS GROUP BY Company_Code) SELECT c.Company_Name, t.n FROM SRM_COMPANIES c JOIN t ON t.Company_Code = c.Company_Code WHERE t.n > 5
SELECT Project_Code, Budget_Amount FROM PAC_MNT_PROJECTS WHERE Budget_Amount > (SELECT AVG(Budget_Amount) FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'USD') AND Currency_Code = 'USD'
SELECT p.Project_Code, p.Budget_Amount FROM PAC_MNT_PROJECTS p WHERE p.Budget_Amount > (SELECT AVG(q.Budget_Amount) FROM PAC_MNT_PROJECTS q WHERE q.Department = p.Department AND q.Currency_Code = p.Currency_Code)
SELECT Project_Code FROM PAC_MNT_PROJECTS WHERE Project_Code IN (SELECT Project_Code FROM PROJCNTRTS WHERE Status = 'Terminated')
SELECT Project_Code, CASE WHEN Actual_Cost > Budget_Amount THEN 'over' WHEN Actual_Cost > 0.9 * Budget_Amount THEN 'at risk' ELSE 'on track' END AS health FROM PAC_MNT_PROJECTS WHERE Status = 'Active'
SELECT Company_Code FROM SRM_COMPANIES WHERE Status = 'Blocked' UNION SELECT Company_Code FROM PROJCNTRTS WHERE Status = 'Terminated'
SELECT Resource_Code FROM PAC_MNT_RESOURCES WHERE Department = 'IT' UNION ALL SELECT Resource_Code FROM PAC_MNT_RESOURCES WHERE Department = 'Engineering'
SELECT s.Role, AVG(s.Allocation_Pct) AS avg_allocation FROM PROJSTAFF s GROUP BY s.Role
SELECT s.Project_Code, s.Resource_Code, COUNT(*) AS stints FROM PROJSTAFF s GROUP BY s.Project_Code, s.Resource_Code HAVING COUNT(*) > 1
SELECT s.Assignment_Id, s.Bill_Rate, r.Hourly_Rate FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code WHERE s.Bill_Rate < r.Hourly_Rate LIMIT 50
SELECT r.Department, p.Region, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code GROUP BY r.Department, p.Region
SELECT r.Resource_Code FROM PAC_MNT_RESOURCES r JOIN PROJSTAFF s ON s.Resource_Code = r.Resource_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code GROUP BY r.Resource_Code HAVING COUNT(DISTINCT p.Region) > 1
SELECT k.Email FROM SRM_CONTACTS k JOIN SRM_COMPANIES c ON c.Company_Code = k.Company_Code JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code WHERE t.Project_Code = 'PRJ-0021'
SELECT c.Company_Name, p.Project_Name, s.Role, r.Last_Name FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = t.Project_Code JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code WHERE c.Country = 'Japan' LIMIT 50
SELECT COUNT(*) FROM PROJSTAFF WHERE End_Date IS NULL
SELECT COUNT(DISTINCT Resource_Code) FROM PROJSTAFF
SELECT Project_Code, MIN(Start_Date) AS first_start, MAX(End_Date) AS last_end FROM PROJSTAFF GROUP BY Project_Code LIMIT 30
SELECT Project_Code, Hours_Worked, SUM(Hours_Worked) OVER (PARTITION BY Project_Code ORDER BY Start_Date, Assignment_Id) AS cumulative FROM PROJSTAFF WHERE Project_Code = 'PRJ-0003'
SELECT Project_Code, Resource_Code, LAG(Start_Date) OVER (PARTITION BY Resource_Code ORDER BY Start_Date) AS previous_start FROM PROJSTAFF LIMIT 40
SELECT Resource_Code, NTILE(4) OVER (ORDER BY Hourly_Rate) AS quartile FROM PAC_MNT_RESOURCES LIMIT 100
SELECT Payment_Terms, Company_Type, COUNT(*) FROM SRM_COMPANIES GROUP BY Payment_Terms, Company_Type
SELECT Company_Code, UPPER(Company_Name) AS name FROM SRM_COMPANIES WHERE Company_Name LIKE '%GmbH' LIMIT 20
SELECT COALESCE(CAST(Rating AS TEXT), 'unrated') AS rating, COUNT(*) FROM SRM_COMPANIES GROUP BY 1
SELECT Project_Type, ROUND(AVG(julianday(End_Date) - julianday(Start_Date)), 1) AS avg_days FROM PAC_MNT_PROJECTS WHERE End_Date IS NOT NULL GROUP BY Project_Type
SELECT s.Role, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Status = 'Planned' GROUP BY s.Role
SELECT s.Role, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Status = 'Active' GROUP BY s.Role
SELECT s.Role, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Status = 'On Hold' GROUP BY s.Role
SELECT s.Role, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Status = 'Completed' GROUP BY s.Role
SELECT s.Role, COUNT(*) AS assignments FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Status = 'Cancelled' GROUP BY s.Role
SELECT t.Status, COUNT(*) AS contracts FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE c.Company_Type = 'Supplier' GROUP BY t.Status
SELECT t.Status, COUNT(*) AS contracts FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE c.Company_Type = 'Client' GROUP BY t.Status
SELECT t.Status, COUNT(*) AS contracts FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE c.Company_Type = 'Partner' GROUP BY t.Status
SELECT p.Project_Code, COUNT(DISTINCT s.Resource_Code) AS headcount FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code WHERE p.Region = 'EMEA' GROUP BY p.Project_Code ORDER BY headcount DESC LIMIT 5
SELECT p.Project_Code, COUNT(DISTINCT s.Resource_Code) AS headcount FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code WHERE p.Region = 'APAC' GROUP BY p.Project_Code ORDER BY headcount DESC LIMIT 5
SELECT p.Project_Code, COUNT(DISTINCT s.Resource_Code) AS headcount FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code WHERE p.Region = 'AMER' GROUP BY p.Project_Code ORDER BY headcount DESC LIMIT 5
SELECT c.Company_Name, SUM(t.Contract_Value) AS value FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE t.Contract_Type = 'Fixed Price' AND t.Currency_Code = 'USD' GROUP BY c.Company_Name ORDER BY value DESC LIMIT 5
SELECT c.Company_Name, SUM(t.Contract_Value) AS value FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE t.Contract_Type = 'Time and Materials' AND t.Currency_Code = 'USD' GROUP BY c.Company_Name ORDER BY value DESC LIMIT 5
SELECT c.Company_Name, SUM(t.Contract_Value) AS value FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE t.Contract_Type = 'Cost Plus' AND t.Currency_Code = 'USD' GROUP BY c.Company_Name ORDER BY value DESC LIMIT 5
SELECT c.Company_Name, SUM(t.Contract_Value) AS value FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE t.Contract_Type = 'Retainer' AND t.Currency_Code = 'USD' GROUP BY c.Company_Name ORDER BY value DESC LIMIT 5
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Finance' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Engineering' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'IT' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Operations' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Sales' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Marketing' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Human Resources' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Legal' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Procurement' AND Is_Active = 'Y' GROUP BY Resource_Type
SELECT Resource_Type, COUNT(*) AS people FROM PAC_MNT_RESOURCES WHERE Department = 'Research' AND Is_Active = 'Y' GROUP BY Resource_Type
